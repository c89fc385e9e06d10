//! All integration tests in one binary (short link times). One module per area.

mod cli_support;

mod adapt;
mod cost;
mod distribution;
mod docs;
mod export;
mod foundation;
mod hostile;
mod integrated;
mod layering;
mod report_html;
mod scaleout;
mod search_engine;
mod sim;
mod sweep;
mod train;
