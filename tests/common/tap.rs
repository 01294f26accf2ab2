//! A TCP pass-through in front of the AWS emulator that remembers when its client last sent a
//! byte: one per operator process, so a test can tell whether that process called AWS after a
//! given moment, whatever the call.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone)]
pub struct Tap {
    pub endpoint: String,
    last_sent: Arc<Mutex<Option<Instant>>>,
}

impl Tap {
    /// Listen on a free 127.0.0.1 port and forward every connection to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Tap {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind tap");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let last_sent = Arc::new(Mutex::new(None));
        let last = last_sent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                let last = last.clone();
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Tap { endpoint, last_sent }
    }

    /// When the client last sent anything (None: never).
    pub fn last_sent(&self) -> Option<Instant> {
        *self.last_sent.lock().unwrap_or_else(|p| p.into_inner())
    }
}
