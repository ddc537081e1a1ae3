//! Encoding an `InvokeRequest` from a borrowed input.
//!
//! The host keeps parts of a forecast input after the call (the period
//! labels and levels its answer needs back). Wrapping the input in the
//! `InvokeRequest` oneof would move it, and taking it back out afterwards
//! would need an error branch for a case that cannot happen. These write the
//! same bytes from a reference instead; a test holds them to prost's own
//! encoding of the owned message.

use prost::Message;
use prost::encoding::message;

use crate::wire;

/// `InvokeRequest.forecast`'s field number in `plugin.proto`.
const FORECAST_FIELD: u32 = 1;
/// `InvokeRequest.risk`'s field number in `plugin.proto`.
const RISK_FIELD: u32 = 2;

/// The encoded `InvokeRequest { forecast: input }`.
pub fn encode_forecast_call(input: &wire::ForecastInput) -> Vec<u8> {
    encode_call(FORECAST_FIELD, input)
}

/// The encoded `InvokeRequest { risk: input }`.
pub fn encode_risk_call(input: &wire::RiskInput) -> Vec<u8> {
    encode_call(RISK_FIELD, input)
}

fn encode_call(field: u32, input: &impl Message) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(message::encoded_len(field, input));
    message::encode(field, input, &mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::invoke_request::Call;

    fn owned(call: Call) -> Vec<u8> {
        wire::InvokeRequest { call: Some(call) }.encode_to_vec()
    }

    #[test]
    fn borrowed_encodings_equal_the_owned_messages() {
        let forecast = wire::ForecastInput {
            series: Some(wire::Series {
                name: "s".into(),
                observations: vec![wire::Observation {
                    period: "2024".into(),
                    value: 2.5,
                }],
                ..Default::default()
            }),
            horizon: 3,
            levels: vec![80.0, 95.0],
            future_periods: vec!["2025".into(), "2026".into(), "2027".into()],
            periods_per_year: 1,
            ..Default::default()
        };
        assert_eq!(
            encode_forecast_call(&forecast),
            owned(Call::Forecast(forecast.clone()))
        );
        let risk = wire::RiskInput {
            subject: "ai".into(),
            indicators: [("x".to_owned(), 1.0)].into(),
            ..Default::default()
        };
        assert_eq!(encode_risk_call(&risk), owned(Call::Risk(risk.clone())));
        // An empty input still names its branch of the oneof.
        let decoded = wire::InvokeRequest::decode(
            encode_forecast_call(&wire::ForecastInput::default()).as_slice(),
        )
        .unwrap();
        assert!(matches!(decoded.call, Some(Call::Forecast(_))));
    }
}
