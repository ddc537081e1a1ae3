//! The Stratus server: serves forecast and risk models, loaded at run time
//! from plugin libraries, over gRPC.
//!
//! Map of the crate (see ARCHITECTURE.md for how a request flows):
//! - [`config`]: flags and environment.
//! - [`server`]: start-up, the tonic router, health, reflection, shutdown.
//! - [`service`]: the gRPC services.
//! - [`evaluation`]: backtests, M4 metrics and the Naive2 benchmark.
//! - [`validate`], [`limits`]: request checks before any plugin sees a
//!   request (pure functions of the request, the model's description and the
//!   limits).
//! - [`plugin`]: loading libraries and the registry of loaded models.
//! - [`dataset`]: reference series.
//! - [`error`], [`model_info`], [`telemetry`]: statuses, model descriptions, logs.
//! - [`admin`], [`deadline`], [`reload`]: admin auth, call time budgets, reload triggers.
//! - [`request_budget`], [`transport`], [`tls`]: what a request body and a
//!   connection may cost; TLS and mTLS.
//!
//! The plugin boundary itself (the C table, the wire messages) is the
//! `stratus-plugin-abi` crate; period labels and growth are `stratus-series`;
//! the API↔plugin mapping is `stratus_proto::mapping`.

pub mod admin;
pub mod config;
pub mod console;
pub mod dataset;
pub mod deadline;
pub mod error;
pub mod evaluation;
pub mod limits;
pub mod metrics;
pub mod model_info;
pub mod model_pool;
pub mod plugin;
pub mod reload;
pub mod request_budget;
pub mod server;
pub mod service;
pub mod side_listener;
pub mod telemetry;
pub mod tls;
pub mod traces;
pub mod transport;
pub mod validate;
