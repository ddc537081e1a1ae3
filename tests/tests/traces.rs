//! Traces over OTLP (`--otlp-endpoint`): a collector in this test receives
//! the server's spans. A call that carries the caller's W3C `traceparent`
//! continues the caller's trace: its RPC span is a child of the caller's
//! span, and the plugin call's span a child of the RPC span, each carrying
//! the model, version, library SHA-256, series length and horizon.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use stratus_client::proto::forecast_service_client::ForecastServiceClient;
use stratus_e2e::fixtures::{annual, forecast};
use stratus_e2e::{NAIVE, Server, ServerOptions};

/// Keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn start_collector() -> (String, Collector) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let collector = Collector::default();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (format!("http://{address}"), collector)
}

fn attributes(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::IntValue(i)) => i.to_string(),
                Some(Value::DoubleValue(d)) => d.to_string(),
                Some(Value::BoolValue(b)) => b.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_trace_continues_through_the_rpc_into_the_plugin_call() {
    let (endpoint, collector) = start_collector().await;
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        // Every call without a traceparent is traced too (default 1 in 100).
        args: vec![
            "--otlp-endpoint".into(),
            endpoint,
            "--trace-sample-ratio".into(),
            "1".into(),
        ],
        // Export every 100 ms rather than every 5 s.
        env: vec![("OTEL_BSP_SCHEDULE_DELAY", "100".into())],
        ..Default::default()
    });
    let client = server.client().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let series = annual("traced", 2018, &[10.0, 11.0, 12.5, 13.0, 14.8, 16.1]);
    let mut request = tonic::Request::new(forecast("naive", series, 4));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{caller_span}-01").parse().unwrap(),
    );
    let answer = ForecastServiceClient::new(client.channel())
        .forecast(request)
        .await
        .expect("the forecast is answered")
        .into_inner();
    let model = answer.model.expect("a model stamp");

    // A stream in a trace of its own: its plugin calls (a batch) are
    // children of the stream's RPC span too.
    let stream_trace = "5bf92f3577b34da6a3ce929d0e0e4736";
    let requests: Vec<_> = (0..3)
        .map(|i| {
            let values = [10.0, 11.0, 12.5 + f64::from(i)];
            forecast("naive", annual("streamed", 2018, &values), 2)
        })
        .collect();
    let mut request = tonic::Request::new(futures::stream::iter(requests));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{stream_trace}-{caller_span}-01")
            .parse()
            .unwrap(),
    );
    let mut answers = ForecastServiceClient::new(client.channel())
        .forecast_stream(request)
        .await
        .expect("the stream opens")
        .into_inner();
    let mut answered = 0;
    while answers.message().await.expect("answered").is_some() {
        answered += 1;
    }
    assert_eq!(answered, 3);

    // A caller's trace that is not sampled (flags 00) is not recorded here
    // either: no RPC span, and no plugin span on its own.
    let unsampled = "6bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(forecast(
        "naive",
        annual("quiet", 2018, &[1.0, 2.0, 3.0]),
        2,
    ));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{unsampled}-{caller_span}-00").parse().unwrap(),
    );
    ForecastServiceClient::new(client.channel())
        .forecast(request)
        .await
        .expect("answered");

    // A call without a traceparent starts a trace of its own.
    client
        .forecast(forecast(
            "naive",
            annual("untraced", 2018, &[1.0, 2.0, 3.0]),
            2,
        ))
        .await
        .expect("answered");

    let give_up = Instant::now() + Duration::from_secs(20);
    let (rpc, plugin) = loop {
        let spans = collector.spans.lock().unwrap().clone();
        let in_trace: Vec<&Span> = spans
            .iter()
            .filter(|s| hex(&s.trace_id) == trace_id)
            .collect();
        let rpc = in_trace
            .iter()
            .find(|s| s.name == "stratus.v1.ForecastService/Forecast");
        let plugin = in_trace.iter().find(|s| s.name == "plugin_call");
        if let (Some(rpc), Some(plugin)) = (rpc, plugin) {
            break ((*rpc).clone(), (*plugin).clone());
        }
        assert!(
            Instant::now() < give_up,
            "no RPC and plugin spans in the caller's trace; got {:?}",
            spans
                .iter()
                .map(|s| (&s.name, hex(&s.trace_id)))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The structure: caller → RPC → plugin call.
    assert_eq!(hex(&rpc.parent_span_id), caller_span);
    assert_eq!(plugin.parent_span_id, rpc.span_id);
    assert!(plugin.start_time_unix_nano >= rpc.start_time_unix_nano);
    assert!(plugin.end_time_unix_nano <= rpc.end_time_unix_nano);

    let rpc_attributes = attributes(&rpc);
    let plugin_attributes = attributes(&plugin);
    for (span, attributes) in [("rpc", &rpc_attributes), ("plugin", &plugin_attributes)] {
        assert_eq!(
            attributes.get("model").map(String::as_str),
            Some("naive"),
            "{span}: {attributes:?}"
        );
        assert_eq!(
            attributes.get("version"),
            Some(&model.version),
            "{span}: {attributes:?}"
        );
        assert_eq!(
            attributes.get("sha256"),
            Some(&model.sha256),
            "{span}: {attributes:?}"
        );
        assert_eq!(
            attributes.get("series_length").map(String::as_str),
            Some("6"),
            "{span}"
        );
        assert_eq!(
            attributes.get("horizon").map(String::as_str),
            Some("4"),
            "{span}"
        );
    }
    assert_eq!(
        rpc_attributes
            .get("rpc.grpc.status_code")
            .map(String::as_str),
        Some("0")
    );

    // The stream's spans (it may take another export to arrive).
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        let spans = collector.spans.lock().unwrap().clone();
        let in_trace: Vec<&Span> = spans
            .iter()
            .filter(|s| hex(&s.trace_id) == stream_trace)
            .collect();
        let stream = in_trace
            .iter()
            .find(|s| s.name == "stratus.v1.ForecastService/ForecastStream");
        let batches: Vec<&&Span> = in_trace
            .iter()
            .filter(|s| s.name == "plugin_call")
            .collect();
        if let Some(stream) = stream
            && !batches.is_empty()
        {
            assert_eq!(hex(&stream.parent_span_id), caller_span);
            for batch in &batches {
                assert_eq!(batch.parent_span_id, stream.span_id);
            }
            let calls: i64 = batches
                .iter()
                .map(|b| attributes(b)["batch"].parse::<i64>().unwrap())
                .sum();
            assert_eq!(calls, 3, "every series' plugin call is in a batch span");
            break;
        }
        assert!(Instant::now() < give_up, "no stream spans: {in_trace:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The untraced call has a trace of its own, with no remote parent.
    let spans = collector.spans.lock().unwrap().clone();
    assert!(
        !spans.iter().any(|s| hex(&s.trace_id) == unsampled),
        "an unsampled caller's trace was recorded"
    );
    // Every plugin span hangs under an RPC span (none orphaned).
    let rpc_ids: Vec<&Vec<u8>> = spans
        .iter()
        .filter(|s| s.name != "plugin_call")
        .map(|s| &s.span_id)
        .collect();
    for plugin in spans.iter().filter(|s| s.name == "plugin_call") {
        assert!(
            rpc_ids.contains(&&plugin.parent_span_id),
            "orphan: {plugin:?}"
        );
    }
    let own = spans
        .iter()
        .find(|s| s.name == "stratus.v1.ForecastService/Forecast" && hex(&s.trace_id) != trace_id)
        .expect("the untraced call's span");
    assert!(own.parent_span_id.is_empty(), "{own:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_call_is_an_error_span_and_the_server_flushes_on_shutdown() {
    let (endpoint, collector) = start_collector().await;
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        // The default 5 s export interval: only the flush at shutdown
        // delivers the span in time.
        args: vec![
            "--otlp-endpoint".into(),
            endpoint,
            "--trace-sample-ratio".into(),
            "1".into(),
        ],
        ..Default::default()
    });
    let client = server.client().await;
    let status = client
        .forecast(forecast(
            "naive",
            annual("short", 2018, &[1.0, 2.0, 3.0]),
            0,
        ))
        .await
        .expect_err("horizon 0 is refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    // Waiting for the process blocks; the collector must keep answering.
    let (exit, log) = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(exit.success(), "{log}");
    let spans = collector.spans.lock().unwrap().clone();
    let rpc = spans
        .iter()
        .find(|s| s.name == "stratus.v1.ForecastService/Forecast")
        .unwrap_or_else(|| panic!("no span flushed at shutdown: {spans:?}"));
    let attributes = attributes(rpc);
    assert_eq!(
        attributes.get("rpc.grpc.status_code").map(String::as_str),
        Some("3"),
        "{attributes:?}"
    );
    assert_eq!(
        rpc.status.as_ref().map(|s| s.code),
        Some(2),
        "status ERROR: {rpc:?}"
    );
}
