//! Objective values of a candidate from its figures (see `docs/objectives.md`).

use super::measure::StaticFigures;
use crate::scenario::Objective;

/// Lifetime of a network with no battery-powered device in use, seconds (10 years):
/// keeps `Lifetime` finite.
pub const LIFETIME_CAP_S: f64 = 315_360_000.0;

/// Penalty of the simulation objectives of a candidate that was not simulated
/// (ms, mJ).
pub const SIM_PENALTY: f64 = 1e6;

/// Figures of a candidate's simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SimFigures {
    /// Mean end-to-end latency of completed requests, ms.
    pub latency_mean_ms: f64,
    /// 95th-percentile latency, ms.
    pub latency_p95_ms: f64,
    /// Inference energy (compute + radio transmit + radio receive, every device) per
    /// completed request, mJ; idle power is not included (see `idle_mj_per_inference`).
    pub energy_mj_per_inference: f64,
    /// Idle energy of every device over the horizon per completed request, mJ
    /// (reported, not an objective).
    pub idle_mj_per_inference: f64,
    /// Largest single-device inference energy per completed request, mJ.
    pub max_device_energy_mj: f64,
    /// Network lifetime, s (`None`: no battery-powered device).
    pub lifetime_s: Option<f64>,
    /// Requests generated.
    pub requests: u64,
    /// Requests completed.
    pub completed: u64,
    /// Requests dropped (a device or link down, no route).
    pub dropped: u64,
    /// Completed requests later than `app.max_latency_ms`.
    pub deadline_misses: u64,
    /// Payload bytes sent over all links during the run (every hop counted).
    pub link_bytes: u64,
    /// Per device, in the network's device order.
    pub devices: Vec<DeviceFigures>,
    /// Busy fraction of each link over the horizon, in the network's link order.
    pub link_utilisation: Vec<f64>,
    /// Figures under the scenario's failure model (`None`: the scenario has none).
    pub robustness: Option<super::failures::Robustness>,
}

/// Simulated figures of one device for a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceFigures {
    /// Device id.
    pub id: String,
    /// Busy core-time / (cores × horizon).
    pub busy_fraction: f64,
    /// Inference energy (compute + transmit + receive) per completed request, mJ.
    pub energy_mj_per_inference: f64,
    /// Idle energy over the horizon per completed request, mJ.
    pub idle_mj_per_inference: f64,
    /// Battery lifetime, s (`None`: mains powered); includes idle power.
    pub lifetime_s: Option<f64>,
}

/// Every figure of an evaluated candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub statics: StaticFigures,
    /// `None` when the candidate was skipped (memory budget) or cannot run.
    pub sim: Option<SimFigures>,
    /// Validation loss and accuracy; `None` when skipped.
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// Classes of the dataset (for the `ValLoss` penalty `2 ln K`).
    pub classes: usize,
}

/// The value of one objective (minimised; `Lifetime` negated), with the penalties of
/// `docs/objectives.md` for stages that did not run.
pub fn objective_value(o: Objective, f: &Figures) -> f64 {
    let sim = f.sim.as_ref();
    let sim_or = |g: &dyn Fn(&SimFigures) -> f64| sim.map(g).unwrap_or(SIM_PENALTY);
    match o {
        Objective::ValLoss => f
            .val_loss
            .filter(|v| v.is_finite())
            .unwrap_or(2.0 * (f.classes.max(2) as f64).ln()),
        Objective::Error => f.val_accuracy.map(|a| 1.0 - a).unwrap_or(1.0),
        Objective::LatencyMean => sim_or(&|s| s.latency_mean_ms),
        Objective::LatencyP95 => sim_or(&|s| s.latency_p95_ms),
        Objective::EnergyPerInference => sim_or(&|s| s.energy_mj_per_inference),
        Objective::MaxDeviceEnergy => sim_or(&|s| s.max_device_energy_mj),
        Objective::ExchangedBytes => f.statics.exchanged_bytes as f64,
        Objective::Hops => f.statics.hops as f64,
        Objective::TotalFlash => f.statics.total_flash as f64,
        Objective::MaxSram => f.statics.max_sram as f64,
        Objective::Lifetime => match sim {
            Some(s) => -s.lifetime_s.unwrap_or(LIFETIME_CAP_S).min(LIFETIME_CAP_S),
            None => 0.0,
        },
        Objective::Availability => -sim
            .and_then(|s| s.robustness.as_ref())
            .map_or(0.0, |r| r.availability),
        Objective::ExpectedLatencyUnderFailure => sim
            .and_then(|s| s.robustness.as_ref())
            .map_or(SIM_PENALTY, |r| r.expected_latency_ms),
    }
}

/// Name of an objective as written in scenarios, `front.json` and `front.csv`.
pub fn objective_name(o: Objective) -> &'static str {
    match o {
        Objective::ValLoss => "ValLoss",
        Objective::Error => "Error",
        Objective::LatencyMean => "LatencyMean",
        Objective::LatencyP95 => "LatencyP95",
        Objective::EnergyPerInference => "EnergyPerInference",
        Objective::MaxDeviceEnergy => "MaxDeviceEnergy",
        Objective::ExchangedBytes => "ExchangedBytes",
        Objective::Hops => "Hops",
        Objective::TotalFlash => "TotalFlash",
        Objective::MaxSram => "MaxSram",
        Objective::Lifetime => "Lifetime",
        Objective::Availability => "Availability",
        Objective::ExpectedLatencyUnderFailure => "ExpectedLatencyUnderFailure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(sim: Option<SimFigures>) -> Figures {
        Figures {
            statics: StaticFigures {
                partitions: vec![],
                input_bytes: 600,
                transfers: vec![],
                exchanged_bytes: 164,
                hops: 2,
                total_flash: 5000,
                max_sram: 700,
                unreachable: false,
            },
            sim,
            val_loss: None,
            val_accuracy: None,
            classes: 4,
        }
    }

    #[test]
    fn values_and_penalties() {
        let f = figures(None);
        assert_eq!(objective_value(Objective::ValLoss, &f), 2.0 * 4f64.ln());
        assert_eq!(objective_value(Objective::Error, &f), 1.0);
        assert_eq!(objective_value(Objective::LatencyP95, &f), SIM_PENALTY);
        assert_eq!(objective_value(Objective::ExchangedBytes, &f), 164.0);
        assert_eq!(objective_value(Objective::Hops, &f), 2.0);
        assert_eq!(objective_value(Objective::TotalFlash, &f), 5000.0);
        assert_eq!(objective_value(Objective::MaxSram, &f), 700.0);
        let mut f = figures(Some(SimFigures {
            latency_mean_ms: 3.0,
            latency_p95_ms: 4.5,
            energy_mj_per_inference: 0.25,
            idle_mj_per_inference: 9.0,
            max_device_energy_mj: 0.125,
            lifetime_s: Some(7200.0),
            requests: 10,
            completed: 10,
            dropped: 0,
            deadline_misses: 0,
            link_bytes: 1640,
            devices: vec![],
            link_utilisation: vec![],
            robustness: None,
        }));
        f.val_loss = Some(0.5);
        f.val_accuracy = Some(0.75);
        assert_eq!(objective_value(Objective::ValLoss, &f), 0.5);
        assert_eq!(objective_value(Objective::Error, &f), 0.25);
        assert_eq!(objective_value(Objective::LatencyMean, &f), 3.0);
        assert_eq!(objective_value(Objective::LatencyP95, &f), 4.5);
        assert_eq!(objective_value(Objective::EnergyPerInference, &f), 0.25);
        assert_eq!(objective_value(Objective::MaxDeviceEnergy, &f), 0.125);
        assert_eq!(objective_value(Objective::Lifetime, &f), -7200.0);
        f.sim.as_mut().unwrap().lifetime_s = None;
        assert_eq!(objective_value(Objective::Lifetime, &f), -LIFETIME_CAP_S);
    }
}
