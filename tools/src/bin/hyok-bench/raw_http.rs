//! A lean HTTP/1.1 keep-alive client for the load generators on plain `http://` URLs: the
//! request written to the socket as it is, the response read by its Content-Length. A
//! general client costs more CPU per request than a small server spends answering it,
//! which on one machine would make the generator the thing measured.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response read (headers and body).
const MAX_RESPONSE: usize = 1024 * 1024;

pub struct RawHttp {
    stream: TcpStream,
    host: String,
    buffer: Vec<u8>,
}

impl RawHttp {
    /// Connects to the host of an `http://` URL.
    pub async fn connect(url: &reqwest::Url) -> Result<RawHttp, String> {
        if url.scheme() != "http" {
            return Err(format!("{url}: the lean client speaks plain http only"));
        }
        let host = url.host_str().ok_or_else(|| format!("{url}: no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let stream = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("{host}:{port}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(RawHttp {
            stream,
            host,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// POSTs `body` to `path` with `headers`; the status and the response body.
    pub async fn post(
        &mut self,
        path: &str,
        headers: &[(String, String)],
        content_type: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n",
            self.host,
            body.len()
        );
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("host") {
                continue;
            }
            request.push_str(name);
            request.push_str(": ");
            request.push_str(value);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.stream
            .write_all(&bytes)
            .await
            .map_err(|e| e.to_string())?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> Result<(u16, Vec<u8>), String> {
        self.buffer.clear();
        let header_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..header_end])
            .map_err(|_| "a response head that is not text")?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("a response without a status")?;
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .ok_or("a response without Content-Length")?;
        if header_end + length > MAX_RESPONSE {
            return Err(format!("a response of {length} bytes"));
        }
        while self.buffer.len() < header_end + length {
            self.fill().await?;
        }
        Ok((
            status,
            self.buffer[header_end..header_end + length].to_vec(),
        ))
    }

    async fn fill(&mut self) -> Result<(), String> {
        if self.buffer.len() > MAX_RESPONSE {
            return Err("a response over 1 MiB".into());
        }
        let mut chunk = [0u8; 8192];
        let read = self
            .stream
            .read(&mut chunk)
            .await
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the server closed the connection".into());
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
