//! Bounds on physical quantities, so that simulated times fit the nanosecond clock
//! (`u64` ns ≈ 584 years) with room for sums, and energies stay finite. The scenario
//! validation, `--set` overrides and sweeps all check values with [`check`]; the bounds
//! are listed in `docs/scenarios.md` ("Limits").

use std::ops::RangeInclusive;

/// Largest time of any single quantity (latency, period, jitter, deadline, event
/// time), ms: 10¹² ms ≈ 31.7 years.
pub const MAX_TIME_MS: f64 = 1e12;

/// Largest `requests × period_ms` of a periodic workload, ms (the simulated span).
pub const MAX_SPAN_MS: f64 = 1e12;

/// Largest power of any device state, mW (10 kW).
pub const MAX_POWER_MW: f64 = 1e7;

/// Largest battery or energy budget, mJ (1 TJ).
pub const MAX_ENERGY_MJ: f64 = 1e15;

/// Smallest link bandwidth, bit/s, and smallest device speed, MAC/s.
pub const MIN_RATE: f64 = 1.0;

/// Largest number of requests of a workload (`workload.requests`, `--requests`).
pub const MAX_REQUESTS: usize = 10_000_000;

/// Largest number of devices of a scenario (the simulator keeps per-device-pair
/// routes).
pub const MAX_DEVICES: usize = 10_000;

/// Largest number of links of a scenario.
pub const MAX_LINKS: usize = 100_000;

/// Largest number of what-if events of a scenario.
pub const MAX_EVENTS: usize = 1_000_000;

/// Allowed `search.population` and `search --population`.
pub const POPULATION: RangeInclusive<usize> = 2..=100_000;

/// Allowed `search.generations` and `search --generations`.
pub const GENERATIONS: RangeInclusive<usize> = 1..=1_000_000;

/// Allowed epochs (`search.*_epochs`, `--final-epochs`; `train_epochs` starts at 1).
pub const EPOCHS: RangeInclusive<usize> = 0..=100_000;

/// `Err` naming `name` when the count `x` is outside `range`.
pub fn check_count(name: &str, x: usize, range: RangeInclusive<usize>) -> Result<(), String> {
    if range.contains(&x) {
        Ok(())
    } else {
        Err(format!(
            "{name} must be in {}..={} (got {x})",
            range.start(),
            range.end()
        ))
    }
}

/// Checks the upper (and rate) bounds of field `field` (its name in the schema) at
/// value `x`; the error names the bound. Fields without a bound pass.
pub fn check(field: &str, x: f64) -> Result<(), String> {
    let got = shown(x);
    let time = |ms: f64, unit: &str| {
        if ms <= MAX_TIME_MS {
            Ok(())
        } else {
            Err(format!(
                "{field} must be at most {} {unit} (1e12 ms, about 31.7 years: simulated times are u64 nanoseconds) (got {got})",
                if unit == "us" { MAX_TIME_MS * 1e3 } else { MAX_TIME_MS }
            ))
        }
    };
    match field {
        "latency_ms" | "period_ms" | "jitter_ms" | "max_latency_ms" | "at_ms" => time(x, "ms"),
        "layer_overhead_us" => time(x / 1e3, "us"),
        "active_mw" | "idle_mw" | "tx_mw" | "rx_mw" if x > MAX_POWER_MW => Err(format!(
            "{field} must be at most {MAX_POWER_MW} mW (10 kW) (got {got})"
        )),
        "battery_mj" | "energy_budget_mj" if x > MAX_ENERGY_MJ => Err(format!(
            "{field} must be at most {MAX_ENERGY_MJ} mJ (got {got})"
        )),
        "bandwidth_bps" | "mac_per_s" if x < MIN_RATE => {
            Err(format!("{field} must be at least {MIN_RATE} (got {got})"))
        }
        "rate_hz" if x < 1.0 / MAX_TIME_MS * 1e3 => Err(format!(
            "rate_hz must be at least {} (one request per 1e12 ms) (got {got})",
            1e3 / MAX_TIME_MS
        )),
        _ => Ok(()),
    }
}

/// `x` as written by a user: plain for ordinary magnitudes, scientific otherwise
/// (so that 1e308 is not printed as 309 digits).
fn shown(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e9).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Checks that a periodic workload's span `requests × period_ms` is at most
/// [`MAX_SPAN_MS`].
pub fn check_span(requests: usize, period_ms: f64) -> Result<(), String> {
    let span = requests as f64 * period_ms;
    if span <= MAX_SPAN_MS {
        Ok(())
    } else {
        Err(format!(
            "requests × period_ms = {} ms exceeds {MAX_SPAN_MS} ms (about 31.7 years of simulated time)",
            shown(span)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_reject_what_overflows_the_clock_or_energy() {
        assert!(check("latency_ms", 1e12).is_ok());
        assert!(check("latency_ms", 1e308)
            .unwrap_err()
            .contains("at most 1000000000000 ms"));
        assert!(check("period_ms", 2e12).is_err());
        assert!(check("layer_overhead_us", 1e15).is_ok());
        assert!(check("layer_overhead_us", 2e15).is_err());
        assert!(check("tx_mw", 1e308).unwrap_err().contains("10 kW"));
        assert!(check("battery_mj", f64::MAX).is_err());
        assert!(check("bandwidth_bps", 0.5).is_err());
        assert!(check("mac_per_s", 1.0).is_ok());
        assert!(check("rate_hz", 1e-12).is_err());
        assert!(check("loss", 0.5).is_ok());
        // 10⁷ requests every 10⁵ ms = 10¹² ms: the largest span
        assert!(check_span(10_000_000, 1e5).is_ok());
        assert!(check_span(10_000_000, 1e6).is_err());
    }
}
