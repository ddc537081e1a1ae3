//! `export!` end to end, in process: a model exported by the macro is called
//! only through the C table it emits, exactly as the server calls a loaded
//! library (describe, create, invoke, free every buffer, destroy).

use std::ffi::c_void;

use prost::Message;
use stratus_plugin::abi::{ABI_MAJOR, PluginApiV1, PluginBuf, STATUS_ERROR, STATUS_OK};
use stratus_plugin::params::Param;
use stratus_plugin::{ForecastModel, ModelError, output, wire};

const STEP: Param = Param::new("step", "Added per period.", 1.0, 0.0, 10.0);

/// Continues the last value by `step` a period; panics on a negative last
/// value, to show panics come back as errors.
#[derive(Default)]
struct Steps;

impl ForecastModel for Steps {
    fn description(&self) -> wire::ModelDescription {
        wire::ModelDescription {
            name: "steps".into(),
            version: "0.1.0".into(),
            params: vec![STEP.spec()],
            ..Default::default()
        }
    }

    fn forecast(&self, input: &wire::ForecastInput) -> Result<wire::ForecastOutput, ModelError> {
        let history = stratus_plugin::input::history(input);
        let last = *history
            .last()
            .ok_or_else(|| ModelError::internal("empty"))?;
        assert!(last >= 0.0, "negative last value");
        let step = STEP.read(&input.params);
        let points = (1..=input.horizon)
            .map(|h| {
                let mean = last + step * f64::from(h);
                wire::ForecastPoint {
                    mean,
                    growth: 0.0,
                    intervals: output::normal_intervals(&input.levels, mean, 1.0),
                }
            })
            .collect();
        Ok(wire::ForecastOutput {
            points,
            ..Default::default()
        })
    }
}

stratus_plugin::export!(forecast: Steps);

// The macro's entry point is unnameable from Rust (it lives in an anonymous
// const); reach it by its C symbol, as the host's `dlsym` does.
unsafe extern "C" {
    fn stratus_plugin_v1() -> *const PluginApiV1;
}

/// The table, as the host gets it.
fn table() -> &'static PluginApiV1 {
    // SAFETY: the entry point returns a pointer to a static table.
    unsafe { &*stratus_plugin_v1() }
}

/// Reads and frees a buffer the plugin wrote, as the host does.
fn take(buf: PluginBuf) -> Vec<u8> {
    let free = table().free_buf.expect("free_buf is set");
    let bytes = if buf.ptr.is_null() {
        Vec::new()
    } else {
        // SAFETY: the plugin wrote `len` bytes at `ptr`, alive until freed.
        unsafe { std::slice::from_raw_parts(buf.ptr, buf.len) }.to_vec()
    };
    // SAFETY: a buffer this plugin wrote, returned once.
    unsafe { free(buf) };
    bytes
}

fn invoke(instance: *const c_void, request: &wire::InvokeRequest) -> (i32, Vec<u8>) {
    let bytes = request.encode_to_vec();
    let mut out = PluginBuf::empty();
    let invoke = table().invoke.expect("invoke is set");
    // SAFETY: a live instance, readable request bytes, a writable buffer.
    let status = unsafe { invoke(instance, bytes.as_ptr(), bytes.len(), &mut out) };
    (status, take(out))
}

#[test]
fn a_model_round_trips_through_its_exported_table() {
    let api = table();
    assert_eq!(api.header.abi_major, ABI_MAJOR);
    assert_eq!(api.header.table_size, size_of::<PluginApiV1>());
    assert_eq!(api.first_null_slot(), None);

    let mut out = PluginBuf::empty();
    // SAFETY: a writable buffer.
    assert_eq!(unsafe { (api.describe.unwrap())(&mut out) }, STATUS_OK);
    let description = wire::ModelDescription::decode(take(out).as_slice()).unwrap();
    assert_eq!(description.name, "steps");
    assert_eq!(description.kind, wire::ModelKind::Forecast as i32);
    assert_eq!(description.params[0].default_value, 1.0);

    let config = wire::PluginConfig::default().encode_to_vec();
    let mut instance: *mut c_void = std::ptr::null_mut();
    let mut error = PluginBuf::empty();
    // SAFETY: readable config, writable handle and buffer.
    let status =
        unsafe { (api.create.unwrap())(config.as_ptr(), config.len(), &mut instance, &mut error) };
    assert_eq!(status, STATUS_OK);
    assert!(take(error).is_empty());
    assert!(!instance.is_null());

    let input = stratus_plugin::input::with_params(
        stratus_plugin::input::forecast_input(&[1.0, 2.0, 3.0], 1, 2, &description.params),
        &[("step", 2.5)],
    );
    let call = wire::InvokeRequest {
        call: Some(wire::invoke_request::Call::Forecast(input.clone())),
    };
    let (status, bytes) = invoke(instance, &call);
    assert_eq!(status, STATUS_OK);
    let Some(wire::invoke_response::Result::Forecast(answer)) =
        wire::InvokeResponse::decode(bytes.as_slice())
            .unwrap()
            .result
    else {
        panic!("a forecast answer");
    };
    let means: Vec<f64> = answer.points.iter().map(|p| p.mean).collect();
    assert_eq!(means, [5.5, 8.0]);
    assert_eq!(answer.points[0].intervals.len(), 2);

    // A panic inside the model comes back as an error, not an unwind.
    let mut negative = input.clone();
    if let Some(series) = negative.series.as_mut() {
        series.observations[2].value = -1.0;
    }
    let (status, bytes) = invoke(
        instance,
        &wire::InvokeRequest {
            call: Some(wire::invoke_request::Call::Forecast(negative)),
        },
    );
    assert_eq!(status, STATUS_ERROR);
    let error = wire::PluginError::decode(bytes.as_slice()).unwrap();
    assert_eq!(error.code, wire::plugin_error::Code::Internal as i32);
    assert!(
        error.message.contains("negative last value"),
        "{}",
        error.message
    );

    // A call of the wrong kind is refused with its reason.
    let (status, bytes) = invoke(
        instance,
        &wire::InvokeRequest {
            call: Some(wire::invoke_request::Call::Risk(Default::default())),
        },
    );
    assert_eq!(status, STATUS_ERROR);
    let error = wire::PluginError::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        error.code,
        wire::plugin_error::Code::FailedPrecondition as i32
    );

    // SAFETY: the handle came from `create`, destroyed once.
    unsafe { (api.destroy.unwrap())(instance) };
}
