//! The reader against real files and a real HTTP server on localhost.

use std::path::Path;
use std::time::Duration;

use portico_reading::{ReadError, ReadLimits, Reader, ReadingAllow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

const LIMITS: ReadLimits = ReadLimits { max_bytes: 64, timeout: Duration::from_secs(5) };

fn allow(host: &str) -> Vec<ReadingAllow> {
    vec![ReadingAllow { host: host.into(), paths: None }]
}

/// Serves a few fixed answers on 127.0.0.1; returns the port.
async fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, port));
        }
    });
    port
}

async fn answer(mut stream: TcpStream, port: u16) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
    let response = match path.as_str() {
        "/ok.yaml" => plain("200 OK", "kind: Component\n"),
        "/big.yaml" => plain("200 OK", &"x".repeat(100)),
        "/big-chunked.yaml" => {
            let chunk = "y".repeat(40);
            format!(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
                len = chunk.len()
            )
        }
        "/broken.yaml" => plain("500 Internal Server Error", "boom"),
        "/to-ok" => redirect(&format!("http://127.0.0.1:{port}/ok.yaml")),
        "/to-elsewhere" => redirect(&format!("http://localhost:{port}/ok.yaml")),
        "/loop" => redirect("/loop"),
        "/slow.yaml" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        _ => plain("404 Not Found", "not here"),
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn plain(status: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
}

fn redirect(location: &str) -> String {
    format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
}

fn url(port: u16, path: &str) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}{path}")).expect("valid url")
}

#[tokio::test]
async fn urls_are_read_from_allowed_hosts_only() {
    let port = serve().await;
    let reader = Reader::new(allow("127.0.0.1"), LIMITS);
    assert_eq!(reader.read_url(&url(port, "/ok.yaml")).await.unwrap(), b"kind: Component\n");

    let other = Reader::new(allow("example.com"), LIMITS);
    let target = url(port, "/ok.yaml");
    assert_eq!(
        other.read_url(&target).await.unwrap_err(),
        ReadError::NotAllowed(format!(
            "Reading from '{target}' is not allowed. You may need to configure an integration for the target host, or add it to the configured list of allowed hosts at 'backend.reading.allow'"
        ))
    );

    let ftp_url = Url::parse("ftp://127.0.0.1/a.yaml").unwrap();
    assert_eq!(
        reader.read_url(&ftp_url).await.unwrap_err().to_string(),
        "ftp://127.0.0.1/a.yaml is not an http(s) or file url"
    );
    let file_url = Url::parse("file:///etc/passwd").unwrap();
    assert!(matches!(reader.read_url(&file_url).await.unwrap_err(), ReadError::NotAllowed(_)));
}

#[tokio::test]
async fn every_redirect_hop_is_checked_against_the_allow_list() {
    let port = serve().await;
    let reader = Reader::new(allow("127.0.0.1"), LIMITS);
    assert_eq!(reader.read_url(&url(port, "/to-ok")).await.unwrap(), b"kind: Component\n");

    let error = reader.read_url(&url(port, "/to-elsewhere")).await.unwrap_err();
    assert!(matches!(error, ReadError::Failed(_)), "{error:?}");
    let expected =
        format!("redirect to http://localhost:{port}/ok.yaml is not allowed by backend.reading.allow");
    assert!(error.to_string().contains(&expected), "{error}");

    let error = reader.read_url(&url(port, "/loop")).await.unwrap_err();
    assert!(error.to_string().contains("too many redirects"), "{error}");
}

#[tokio::test]
async fn statuses_become_read_errors() {
    let port = serve().await;
    let reader = Reader::new(allow("127.0.0.1"), LIMITS);
    let missing = url(port, "/missing.yaml");
    let error = reader.read_url(&missing).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert_eq!(error.to_string(), format!("{missing} does not exist"));

    let broken = url(port, "/broken.yaml");
    assert_eq!(
        reader.read_url(&broken).await.unwrap_err(),
        ReadError::Failed(format!("could not read {broken}, 500 Internal Server Error"))
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_or_without_a_length() {
    let port = serve().await;
    let reader = Reader::new(allow("127.0.0.1"), LIMITS);
    for path in ["/big.yaml", "/big-chunked.yaml"] {
        let target = url(port, path);
        assert_eq!(
            reader.read_url(&target).await.unwrap_err(),
            ReadError::TooLarge { what: target.to_string(), limit: 64 },
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_slow_server_runs_into_the_timeout() {
    let port = serve().await;
    let limits = ReadLimits { max_bytes: 64, timeout: Duration::from_millis(300) };
    let reader = Reader::new(allow("127.0.0.1"), limits);
    assert_eq!(reader.limits().timeout, Duration::from_millis(300));
    let target = url(port, "/slow.yaml");
    let started = std::time::Instant::now();
    assert_eq!(
        reader.read_url(&target).await.unwrap_err(),
        ReadError::Failed(format!("could not read {target}, the request timed out"))
    );
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn files_are_read_within_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Reader::new(Vec::new(), LIMITS);
    let small = dir.path().join("small.yaml");
    std::fs::write(&small, "kind: API\n").unwrap();
    assert_eq!(reader.read_file(&small).await.unwrap(), b"kind: API\n");

    let big = dir.path().join("big.yaml");
    std::fs::write(&big, "z".repeat(65)).unwrap();
    assert_eq!(
        reader.read_file(&big).await.unwrap_err(),
        ReadError::TooLarge { what: big.display().to_string(), limit: 64 }
    );

    let missing = dir.path().join("missing.yaml");
    assert!(reader.read_file(&missing).await.unwrap_err().is_not_found());
    assert_eq!(
        reader.read_file(dir.path()).await.unwrap_err().to_string(),
        format!("{} is a directory, not a file", dir.path().display())
    );
}

#[tokio::test]
async fn confined_reads_stay_inside_their_folder() {
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("location");
    std::fs::create_dir(&base).unwrap();
    std::fs::write(base.join("inside.txt"), "in").unwrap();
    std::fs::write(root.path().join("secret.txt"), "out").unwrap();
    let reader = Reader::new(Vec::new(), LIMITS);

    assert_eq!(reader.read_file_within(&base.join("inside.txt"), &base).await.unwrap(), b"in");
    let escaping = base.join("../secret.txt");
    assert_outside(&reader, &escaping, &base).await;
    #[cfg(unix)]
    {
        let link = base.join("link.txt");
        std::os::unix::fs::symlink(root.path().join("secret.txt"), &link).unwrap();
        assert_outside(&reader, &link, &base).await;
    }
    assert!(reader.read_file_within(&base.join("missing.txt"), &base).await.unwrap_err().is_not_found());
}

async fn assert_outside(reader: &Reader, path: &Path, base: &Path) {
    let error = reader.read_file_within(path, base).await.unwrap_err();
    let base = base.canonicalize().unwrap();
    assert_eq!(
        error,
        ReadError::NotAllowed(format!(
            "{} is outside the location's folder {}",
            path.display(),
            base.display()
        ))
    );
}
