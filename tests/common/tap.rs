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
    /// (when, SigV4 service) of every request start seen.
    requests: Arc<Mutex<Vec<(Instant, String)>>>,
    /// Every byte the clients sent, per connection (lossy UTF-8), to look for what a request said.
    sent: Arc<Mutex<Vec<String>>>,
}

/// The SigV4 signing service of a request whose head is in `chunk`, if it starts one.
fn request_service(chunk: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&chunk[..chunk.len().min(8192)]);
    let method = ["GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "HEAD "];
    if !method.iter().any(|m| text.starts_with(m)) {
        return None;
    }
    // Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/apigateway/aws4_request, ...
    let scope = text.split("Credential=").nth(1)?.split([',', ' ', '\r']).next()?;
    Some(scope.split('/').nth(3).unwrap_or("?").to_string())
}

impl Tap {
    /// Listen on a free 127.0.0.1 port and forward every connection to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Tap {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind tap");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let last_sent = Arc::new(Mutex::new(None));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let (last, log, text) = (last_sent.clone(), requests.clone(), sent.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                let (last, log) = (last.clone(), log.clone());
                let text = text.clone();
                let slot = {
                    let mut all = text.lock().unwrap_or_else(|p| p.into_inner());
                    all.push(String::new());
                    all.len() - 1
                };
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
                            let now = Instant::now();
                            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
                            if let Some(service) = request_service(&buf[..n]) {
                                log.lock().unwrap_or_else(|p| p.into_inner()).push((now, service));
                            }
                            text.lock().unwrap_or_else(|p| p.into_inner())[slot]
                                .push_str(&String::from_utf8_lossy(&buf[..n]));
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
        Tap { endpoint, last_sent, requests, sent }
    }

    /// Everything the clients sent, connection after connection.
    pub fn sent_text(&self) -> String {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
    }

    /// (when, service) of every request so far.
    pub fn requests(&self) -> Vec<(Instant, String)> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The most requests of `service` seen in any window of `width`.
    pub fn peak(&self, service: &str, width: std::time::Duration) -> usize {
        let times: Vec<Instant> = self.requests().into_iter().filter(|(_, s)| s == service).map(|(t, _)| t).collect();
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) > width {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    /// When the client last sent anything (None: never).
    pub fn last_sent(&self) -> Option<Instant> {
        *self.last_sent.lock().unwrap_or_else(|p| p.into_inner())
    }
}
