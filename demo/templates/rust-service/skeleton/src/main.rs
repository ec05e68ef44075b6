//! Serves ${{ values.name }} on `0.0.0.0:$PORT` (8080 when `PORT` is not set).

use std::error::Error;
use std::net::SocketAddr;

use ${{ values.name | replace("-", "_") }}::app;

const DEFAULT_PORT: u16 = 8080;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let address = SocketAddr::from(([0, 0, 0, 0], port()?));
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on http://{address}");
    axum::serve(listener, app()).await?;
    Ok(())
}

/// `PORT`, or the default when it is not set; a value that is not a port number is an error
/// rather than a silent fallback.
fn port() -> Result<u16, String> {
    let Ok(text) = std::env::var("PORT") else {
        return Ok(DEFAULT_PORT);
    };
    text.parse()
        .map_err(|_| format!("PORT must be a port number, not {text:?}"))
}
