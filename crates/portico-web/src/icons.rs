//! The interface's icons: small inline SVGs drawn with `currentColor` so they follow the text
//! colour in both themes. Inline markup costs no request and needs no icon font.

use crate::html::Markup;

/// The icon ids [`icon`] knows.
pub const NAMES: [&str; 16] = [
    "home",
    "catalog",
    "api",
    "docs",
    "create",
    "search",
    "settings",
    "sun",
    "moon",
    "logo",
    "star",
    "user",
    "group",
    "system",
    "chevron-left",
    "chevron-right",
];

fn path(name: &str) -> &'static str {
    match name {
        "home" => r#"<path d="M3 10.5 12 3l9 7.5"/><path d="M5 9.5V20h5v-6h4v6h5V9.5"/>"#,
        "catalog" => {
            r#"<rect x="3.5" y="3.5" width="7" height="7" rx="1.5"/><rect x="13.5" y="3.5" width="7" height="7" rx="1.5"/><rect x="3.5" y="13.5" width="7" height="7" rx="1.5"/><rect x="13.5" y="13.5" width="7" height="7" rx="1.5"/>"#
        }
        "api" => r#"<path d="m8 7-5 5 5 5"/><path d="m16 7 5 5-5 5"/><path d="m13.5 5-3 14"/>"#,
        "docs" => {
            r#"<path d="M4 4.5A1.5 1.5 0 0 1 5.5 3H19v15H5.5A1.5 1.5 0 0 0 4 19.5z"/><path d="M4 19.5A1.5 1.5 0 0 0 5.5 21H19v-3"/><path d="M8 7h7M8 11h5"/>"#
        }
        "create" => r#"<circle cx="12" cy="12" r="9"/><path d="M12 8v8M8 12h8"/>"#,
        "search" => r#"<circle cx="11" cy="11" r="6.5"/><path d="m16 16 4.5 4.5"/>"#,
        "settings" => {
            r#"<path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0"/><circle cx="16" cy="6" r="2"/><circle cx="10" cy="12" r="2"/><circle cx="18" cy="18" r="2"/>"#
        }
        "sun" => {
            r#"<circle cx="12" cy="12" r="4"/><path d="M12 2.5v2M12 19.5v2M2.5 12h2M19.5 12h2M5.3 5.3l1.4 1.4M17.3 17.3l1.4 1.4M5.3 18.7l1.4-1.4M17.3 6.7l1.4-1.4"/>"#
        }
        "moon" => r#"<path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z"/>"#,
        "logo" => {
            r#"<path d="M3 20h18"/><path d="M4 9.5 12 4l8 5.5"/><path d="M6 10.5V18M10 10.5V18M14 10.5V18M18 10.5V18"/>"#
        }
        "star" => r#"<path d="m12 3.5 2.6 5.3 5.8.8-4.2 4.1 1 5.8-5.2-2.7-5.2 2.7 1-5.8-4.2-4.1 5.8-.8z"/>"#,
        "user" => r#"<circle cx="12" cy="8" r="4"/><path d="M4 20.5a8 8 0 0 1 16 0"/>"#,
        "group" => {
            r#"<circle cx="9" cy="8.5" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0"/><path d="M15.5 5.2a3.5 3.5 0 0 1 0 6.6M18 14.2a6.5 6.5 0 0 1 3.5 5.8"/>"#
        }
        "system" => {
            r#"<rect x="3" y="3" width="18" height="6" rx="1.5"/><rect x="3" y="15" width="18" height="6" rx="1.5"/><path d="M12 9v6"/>"#
        }
        "chevron-left" => r#"<path d="m14.5 6-6 6 6 6"/>"#,
        "chevron-right" => r#"<path d="m9.5 6 6 6-6 6"/>"#,
        _ => r#"<circle cx="12" cy="12" r="3"/>"#,
    }
}

/// An icon, decorative (hidden from screen readers: its label is always next to it).
pub fn icon(name: &str) -> Markup {
    Markup::trusted(format!(
        "<svg class=\"icon\" viewBox=\"0 0 24 24\" width=\"20\" height=\"20\" fill=\"none\" stroke=\"currentColor\" \
         stroke-width=\"1.8\" stroke-linecap=\"round\" stroke-linejoin=\"round\" aria-hidden=\"true\" focusable=\"false\">{}</svg>",
        path(name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_icon_has_its_own_drawing() {
        let fallback = path("no-such-icon");
        for name in NAMES {
            assert_ne!(path(name), fallback, "{name}");
        }
    }
}
