//! Which entries of a `fetch:template` skeleton get their names and contents rendered:
//! `templateFileExtension`, `copyWithoutTemplating` and `copyWithoutRender`.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde_json::Value;

/// Invalid `fetch:template` file options, with Backstage's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileOptionsError {
    /// Both glob lists were given.
    #[error("copyWithoutRender and copyWithoutTemplating can not be used at the same time")]
    BothCopyLists,
    /// An extension combined with a glob list or cookiecutter mode.
    #[error(
        "Fetch action input extension incompatible with copyWithoutRender/copyWithoutTemplating and cookiecutterCompat"
    )]
    ExtensionIncompatible,
    /// A glob that does not parse.
    #[error("Invalid glob pattern {pattern}: {reason}")]
    BadGlob {
        /// The pattern as given.
        pattern: String,
        /// Why it does not parse.
        reason: String,
    },
}

/// Which of the two copy lists the globs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CopyList {
    /// `copyWithoutTemplating`: matched paths are still rendered, contents are not.
    WithoutTemplating,
    /// `copyWithoutRender`: neither paths nor contents of matches are rendered.
    WithoutRender,
}

/// The parsed file options of one `fetch:template` step.
#[derive(Debug, Clone)]
pub struct FileTemplateOptions {
    extension: Option<String>,
    list: CopyList,
    include: GlobSet,
    exclude: GlobSet,
}

/// What to do with one skeleton entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    /// Whether the entry's path is rendered as a template.
    pub render_path: bool,
    /// Whether the file's contents are rendered as a template.
    pub render_contents: bool,
    /// The path to write (before rendering), with the template extension removed.
    pub path: String,
}

impl FileTemplateOptions {
    /// Validates and compiles the options. `template_file_extension` is the raw input
    /// (`true` means `.njk`, a string names the extension, with or without its dot).
    pub fn new(
        template_file_extension: Option<&Value>,
        copy_without_render: &[String],
        copy_without_templating: &[String],
        cookiecutter_compat: bool,
    ) -> Result<Self, FileOptionsError> {
        if !copy_without_render.is_empty() && !copy_without_templating.is_empty() {
            return Err(FileOptionsError::BothCopyLists);
        }
        let extension = match template_file_extension {
            Some(Value::Bool(true)) => Some(".njk".to_owned()),
            Some(Value::String(ext)) if !ext.is_empty() => {
                Some(if ext.starts_with('.') { ext.clone() } else { format!(".{ext}") })
            }
            _ => None,
        };
        let globs_given = !copy_without_render.is_empty() || !copy_without_templating.is_empty();
        if extension.is_some() && (globs_given || cookiecutter_compat) {
            return Err(FileOptionsError::ExtensionIncompatible);
        }
        let (list, patterns) = if copy_without_render.is_empty() {
            (CopyList::WithoutTemplating, copy_without_templating)
        } else {
            (CopyList::WithoutRender, copy_without_render)
        };
        let mut include = GlobSetBuilder::new();
        let mut exclude = GlobSetBuilder::new();
        for pattern in patterns {
            let (builder, glob) = match pattern.strip_prefix('!') {
                Some(negated) => (&mut exclude, negated),
                None => (&mut include, pattern.as_str()),
            };
            let trimmed = glob.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
            builder.add(compile(pattern, trimmed)?);
            // globby expands a plain directory name to everything below it.
            if !trimmed.contains(['*', '?', '[', '{']) {
                builder.add(compile(pattern, &format!("{trimmed}/**"))?);
            }
        }
        let build = |builder: GlobSetBuilder| {
            builder.build().map_err(|error| FileOptionsError::BadGlob {
                pattern: patterns.join(", "),
                reason: error.to_string(),
            })
        };
        Ok(FileTemplateOptions { extension, list, include: build(include)?, exclude: build(exclude)? })
    }
}

/// Compiles one glob the way globby reads it relative to the skeleton root: `*` stays within
/// one path segment, and dotfiles match.
fn compile(original: &str, pattern: &str) -> Result<Glob, FileOptionsError> {
    GlobBuilder::new(pattern).literal_separator(true).build().map_err(|error| FileOptionsError::BadGlob {
        pattern: original.to_owned(),
        reason: error.to_string(),
    })
}

/// Decides how the skeleton entry at `path` (relative, `/`-separated, as found in the
/// skeleton) is copied.
///
/// With a template extension only files ending in it have their contents rendered (and lose
/// the extension); every path is rendered. Otherwise an entry matched by the copy globs (a plain
/// directory name matches everything below it, as globby expands it), and not by a `!` pattern, keeps
/// its contents; under `copyWithoutRender` it also keeps its path.
pub fn should_template(path: &str, options: &FileTemplateOptions) -> FilePlan {
    let relative = path.trim_start_matches("./").trim_end_matches('/');
    if let Some(extension) = &options.extension {
        let stripped = relative.strip_suffix(extension.as_str()).filter(|stem| !stem.is_empty());
        return FilePlan {
            render_path: true,
            render_contents: stripped.is_some(),
            path: stripped.unwrap_or(relative).to_owned(),
        };
    }
    let matched = options.include.is_match(relative) && !options.exclude.is_match(relative);
    FilePlan {
        render_path: !(matched && options.list == CopyList::WithoutRender),
        render_contents: !matched,
        path: relative.to_owned(),
    }
}

/// Backstage skips skeleton entries whose rendered path is empty, absolute or contains `//`
/// (an empty segment, as from a directory name rendered to nothing); a path ending in `/` (a
/// file name rendered to nothing) is skipped as well.
pub fn is_skipped_output_path(rendered: &str) -> bool {
    rendered.is_empty() || rendered.starts_with('/') || rendered.contains("//") || rendered.ends_with('/')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn everything_is_rendered_without_options() {
        let options = FileTemplateOptions::new(None, &[], &[], false).unwrap();
        let plan = should_template("src/${{ values.name }}.txt", &options);
        assert_eq!(
            plan,
            FilePlan { render_path: true, render_contents: true, path: "src/${{ values.name }}.txt".into() }
        );
    }

    #[test]
    fn copy_without_templating_renders_paths_but_not_contents() {
        let options = FileTemplateOptions::new(None, &[], &strings(&[".unprocessed"]), false).unwrap();
        let inside = should_template(".unprocessed/templated-${{ values.name }}.txt", &options);
        assert!(inside.render_path && !inside.render_contents);
        let outside = should_template("processed/templated.txt", &options);
        assert!(outside.render_path && outside.render_contents);
    }

    #[test]
    fn copy_without_render_keeps_paths_and_contents() {
        let options = FileTemplateOptions::new(None, &strings(&[".github/workflows/*"]), &[], false).unwrap();
        let matched = should_template(".github/workflows/ci.yaml", &options);
        assert!(!matched.render_path && !matched.render_contents);
        // `*` does not cross directories.
        let deeper = should_template(".github/workflows/sub/ci.yaml", &options);
        assert!(deeper.render_contents);
    }

    #[test]
    fn negated_patterns_exclude_matches() {
        let patterns = strings(&[".unprocessed", "!*/templated-process-content-*.txt"]);
        let options = FileTemplateOptions::new(None, &[], &patterns, false).unwrap();
        assert!(should_template(".unprocessed/templated-process-content-x.txt", &options).render_contents);
        assert!(!should_template(".unprocessed/templated-content-x.txt", &options).render_contents);
    }

    #[test]
    fn template_extension_true_means_njk_and_is_stripped() {
        let options = FileTemplateOptions::new(Some(&json!(true)), &[], &[], false).unwrap();
        assert_eq!(
            should_template("subdir/templated-content.txt.njk", &options),
            FilePlan {
                render_path: true,
                render_contents: true,
                path: "subdir/templated-content.txt".into()
            }
        );
        let jinja = should_template("${{ values.name }}.txt.jinja2", &options);
        assert!(jinja.render_path && !jinja.render_contents);
        assert_eq!(jinja.path, "${{ values.name }}.txt.jinja2");
        let custom = FileTemplateOptions::new(Some(&json!("tmpl")), &[], &[], false).unwrap();
        assert_eq!(should_template("a.md.tmpl", &custom).path, "a.md");
    }

    #[test]
    fn incompatible_options_are_rejected_with_backstage_messages() {
        let error =
            FileTemplateOptions::new(None, &strings(&["abc"]), &strings(&["def"]), false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "copyWithoutRender and copyWithoutTemplating can not be used at the same time"
        );
        let error = FileTemplateOptions::new(Some(&json!(true)), &strings(&["abc"]), &[], false).unwrap_err();
        assert!(error.to_string().contains("incompatible with copyWithoutRender/copyWithoutTemplating"));
        let error = FileTemplateOptions::new(Some(&json!(true)), &[], &[], true).unwrap_err();
        assert_eq!(error, FileOptionsError::ExtensionIncompatible);
    }

    #[test]
    fn empty_absolute_and_double_slash_paths_are_skipped() {
        assert!(is_skipped_output_path(""));
        assert!(is_skipped_output_path("/etc/passwd"));
        assert!(is_skipped_output_path("subdir//file.txt"));
        assert!(!is_skipped_output_path("subdir/file.txt"));
    }
}
