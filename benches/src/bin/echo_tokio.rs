//! The echo example (`examples/src/bin/echo.rs`) on tokio, for
//! `benches/echo_idle_rss.sh`: one task per connection, a 4 KiB heap read
//! buffer, current_thread runtime (weft's echo runs on one thread too).
//!
//! `echo_tokio [ADDR]` (default `127.0.0.1:7100`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7100".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    loop {
        let (mut conn, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4 * 1024];
            loop {
                let n = match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if conn.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
}
