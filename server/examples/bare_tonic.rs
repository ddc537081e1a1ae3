//! The "bare tonic" baseline of BENCHMARKS.md: a tonic server with the
//! standard health service and a `ForecastService` whose `Forecast` does no
//! work at all (tonic decodes the request, the handler clones a prepared
//! response shaped like a naive 6-point forecast, tonic encodes it). Measured
//! beside `stratus-server` with the same load, it shows how much of the gap
//! between the health RPC and a forecast is the transport moving the
//! messages, before any of Stratus' work.
//!
//! `cargo run --release -p stratus-server --example bare_tonic -- 127.0.0.1:50099`

use std::collections::HashMap;

use prost::Message;
use stratus_proto::v1::forecast_service_server::{ForecastService, ForecastServiceServer};
use stratus_proto::v1::{
    ForecastPoint, ForecastRequest, ForecastResponse, Interval, ModelInfo, ModelKind,
};
use tonic::{Request, Response, Status, Streaming};

/// A response with the shape and size of a naive forecast of the bench
/// series (6 points, 80% and 95% intervals, fitted values, two notes).
fn prepared() -> ForecastResponse {
    let points = (0..6)
        .map(|h| {
            let mean = 96.4 + 10.2 * f64::from(h);
            ForecastPoint {
                period: (2020 + h).to_string(),
                mean,
                growth: 11.834_729_457_139_75,
                intervals: [
                    (80.0, 1.281_551_565_544_600_4),
                    (95.0, 1.959_963_984_540_054),
                ]
                .into_iter()
                .map(|(level, z)| Interval {
                    level,
                    lower: mean - z * 4.127_371_822_947_613 * f64::from(h + 1).sqrt(),
                    upper: mean + z * 4.127_371_822_947_613 * f64::from(h + 1).sqrt(),
                })
                .collect(),
            }
        })
        .collect();
    ForecastResponse {
        model: Some(ModelInfo {
            name: "naive".into(),
            version: "1.0.0".into(),
            kind: ModelKind::Forecast as i32,
            sha256: "bb6af2e009c384ee7f3f1998774ba04b79d72ce1f03a63e7c3ecfd50f9e7ae7e".into(),
            abi_version: "1.0".into(),
            ..Default::default()
        }),
        series_name: "bench".into(),
        points,
        fitted: HashMap::from([
            ("drift".into(), 10.197_368_421_052_632),
            ("sigma".into(), 4.127_371_822_947_613),
            ("drift_weight".into(), 1.0),
        ]),
        notes: vec![
            "Random walk with drift: the average step of the history, carried forward.".into(),
            "Intervals assume normal, independent one-step errors.".into(),
        ],
        ..Default::default()
    }
}

struct Bare(ForecastResponse);

#[tonic::async_trait]
impl ForecastService for Bare {
    async fn forecast(
        &self,
        _request: Request<ForecastRequest>,
    ) -> Result<Response<ForecastResponse>, Status> {
        Ok(Response::new(self.0.clone()))
    }

    type ForecastStreamStream = futures::stream::Empty<Result<ForecastResponse, Status>>;

    async fn forecast_stream(
        &self,
        _request: Request<Streaming<ForecastRequest>>,
    ) -> Result<Response<Self::ForecastStreamStream>, Status> {
        Err(Status::unimplemented(
            "the baseline serves unary Forecast only",
        ))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50099".into())
        .parse()?;
    let response = prepared();
    println!(
        "bare tonic on {address}: Forecast answers a prepared {}-byte response",
        response.encoded_len()
    );
    let (_health, health_service) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(health_service)
        .add_service(ForecastServiceServer::new(Bare(response)))
        .serve(address)
        .await?;
    Ok(())
}
