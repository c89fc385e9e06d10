//! Energy accounting: mW × s = mJ.
//!
//! A device draws `active_mw` per busy core-second of compute, `tx_mw` while its radio
//! sends, `rx_mw` while it receives, and `idle_mw` for the rest of the horizon:
//! `idle_s = max(0, horizon_s − busy_s / cores − tx_s − rx_s)`.

use crate::network::Device;
use serde::Serialize;

/// Energy of one device over a horizon, mJ, by term.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct EnergyBreakdown {
    /// `active_mw × busy core-seconds`, mJ.
    pub compute_mj: f64,
    /// `tx_mw × transmit airtime`, mJ.
    pub tx_mj: f64,
    /// `rx_mw × receive airtime`, mJ.
    pub rx_mj: f64,
    /// `idle_mw × remaining time`, mJ.
    pub idle_mj: f64,
    /// Sum of the four terms, mJ.
    pub total_mj: f64,
}

/// Energy of `device` that computed for `busy_ns` core-nanoseconds, transmitted for
/// `tx_ns` and received for `rx_ns` during a horizon of `horizon_ns`.
pub fn device_energy(
    device: &Device,
    busy_ns: u64,
    tx_ns: u64,
    rx_ns: u64,
    horizon_ns: u64,
) -> EnergyBreakdown {
    let s = |ns: u64| ns as f64 * 1e-9;
    let cores = device.cores.max(1) as f64;
    let idle_s = (s(horizon_ns) - s(busy_ns) / cores - s(tx_ns) - s(rx_ns)).max(0.0);
    let compute_mj = device.active_mw * s(busy_ns);
    let tx_mj = device.tx_mw * s(tx_ns);
    let rx_mj = device.rx_mw * s(rx_ns);
    let idle_mj = device.idle_mw * idle_s;
    EnergyBreakdown {
        compute_mj,
        tx_mj,
        rx_mj,
        idle_mj,
        total_mj: compute_mj + tx_mj + rx_mj + idle_mj,
    }
}

/// Battery lifetime in seconds, extrapolating the mean power over the horizon:
/// `battery_mj × horizon_s / energy_mj`. `None` for mains-powered devices, a zero
/// horizon or zero energy.
pub fn lifetime_s(battery_mj: Option<f64>, energy_mj: f64, horizon_ns: u64) -> Option<f64> {
    let battery = battery_mj?;
    if horizon_ns == 0 || energy_mj <= 0.0 {
        return None;
    }
    Some(battery * horizon_ns as f64 * 1e-9 / energy_mj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::device;

    #[test]
    fn terms_and_lifetime() {
        let mut d = device("a"); // active 20, idle 1, tx 15, rx 15 mW
        d.battery_mj = Some(1000.0);
        // 1 s horizon: 0.25 s compute, 0.1 s tx, 0.05 s rx, 0.6 s idle
        let e = device_energy(&d, 250_000_000, 100_000_000, 50_000_000, 1_000_000_000);
        assert!((e.compute_mj - 5.0).abs() < 1e-12);
        assert!((e.tx_mj - 1.5).abs() < 1e-12);
        assert!((e.rx_mj - 0.75).abs() < 1e-12);
        assert!((e.idle_mj - 0.6).abs() < 1e-12);
        assert!((e.total_mj - 7.85).abs() < 1e-12);
        let life = lifetime_s(d.battery_mj, e.total_mj, 1_000_000_000).unwrap();
        assert!((life - 1000.0 / 7.85).abs() < 1e-9);
        assert_eq!(lifetime_s(None, 1.0, 1), None);
    }
}
