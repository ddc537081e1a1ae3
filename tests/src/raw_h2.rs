//! A raw HTTP/2 peer, for attacks a well-behaved gRPC client library would
//! never make: trickling a message, announcing sizes it never sends.

use crate::Server;

/// A raw connection's handle, a started `Forecast` call's response, and the
/// stream to write its body to.
pub type RawCall = (
    h2::client::SendRequest<bytes::Bytes>,
    h2::client::ResponseFuture,
    h2::SendStream<bytes::Bytes>,
);

/// Opens a raw HTTP/2 connection to `server` and starts a `Forecast` call
/// on it, body not yet sent.
pub async fn forecast_call(server: &Server) -> RawCall {
    try_forecast_call(server.url.trim_start_matches("http://"))
        .await
        .expect("open a raw HTTP/2 call")
}

/// Like [`forecast_call`], for an address, reporting failures.
pub async fn try_forecast_call(addr: &str) -> Result<RawCall, String> {
    let mut client = connect(addr)
        .await?
        .ready()
        .await
        .map_err(|e| e.to_string())?;
    let request = http::Request::post("/stratus.v1.ForecastService/Forecast")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .map_err(|e| e.to_string())?;
    let (response, stream) = client
        .send_request(request, false)
        .map_err(|e| e.to_string())?;
    Ok((client, response, stream))
}

/// The gRPC status code and message of a raw call's response (from its
/// headers, or its trailers), or `None` if the connection failed first.
pub async fn status(response: h2::client::ResponseFuture) -> Option<(i32, String)> {
    let response = response.await.ok()?;
    let read = |headers: &http::HeaderMap| {
        let code = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
        let message = headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Some((code, message))
    };
    if let Some(status) = read(response.headers()) {
        return Some(status);
    }
    let mut body = response.into_body();
    while body.data().await.is_some() {}
    let trailers = body.trailers().await.ok()??;
    read(&trailers)
}

/// The 5-byte gRPC header announcing a message of `len` bytes.
pub fn message_header(len: u32) -> Vec<u8> {
    let mut header = vec![0u8];
    header.extend_from_slice(&len.to_be_bytes());
    header
}

/// An HTTP/2 connection to `addr`, ready for calls.
pub async fn connect(addr: &str) -> Result<h2::client::SendRequest<bytes::Bytes>, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (client, connection) = h2::client::handshake(tcp)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(client)
}

/// One unary call of `path` with an already framed body (see
/// [`framed`]): the attacker pays nothing to encode it again. Returns the
/// gRPC status code (0 for OK), or `None` if the connection failed.
pub async fn unary(
    client: &mut h2::client::SendRequest<bytes::Bytes>,
    path: &str,
    body: bytes::Bytes,
    timeout: Option<&str>,
) -> Option<i32> {
    let mut ready = client.clone().ready().await.ok()?;
    let mut request = http::Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(timeout) = timeout {
        request = request.header("grpc-timeout", timeout);
    }
    let (response, mut stream) = ready.send_request(request.body(()).ok()?, false).ok()?;
    stream.send_data(body, true).ok()?;
    *client = ready;
    status(response).await.map(|(code, _)| code)
}

/// A message in gRPC framing: the 5-byte header, then the bytes.
pub fn framed(message: &[u8]) -> bytes::Bytes {
    let mut body = message_header(u32::try_from(message.len()).unwrap_or(u32::MAX));
    body.extend_from_slice(message);
    body.into()
}
