//! Events through the `tracing` crate when the `tracing` feature is on (the
//! default), and nothing at all when it is off. The engine calls these
//! macros, never `tracing` itself, so it builds either way.
//!
//! Targets are `strata::recovery`, `strata::flush`, `strata::compaction`
//! and `strata::write`; fields name files by path and regions by offset and
//! length, so an event can be acted on without the recovery report.

#[cfg(feature = "tracing")]
macro_rules! event {
    (error, $($rest:tt)+) => { ::tracing::error!($($rest)+) };
    (warn, $($rest:tt)+) => { ::tracing::warn!($($rest)+) };
    (info, $($rest:tt)+) => { ::tracing::info!($($rest)+) };
    (debug, $($rest:tt)+) => { ::tracing::debug!($($rest)+) };
}

#[cfg(not(feature = "tracing"))]
macro_rules! event {
    ($level:ident, $($rest:tt)+) => {{}};
}

pub(crate) use event;
