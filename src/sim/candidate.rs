//! Building an [`InferencePlan`] from a candidate's per-partition costs.

use super::inference::{InferencePlan, Stage};
use crate::network::Network;
use crate::partition::{costs, Candidate, PartitionCosts, PartitionError};
use crate::scenario::DType;

impl InferencePlan {
    /// The plan of a candidate whose partition costs are known: the network input
    /// (`costs.input_bytes`) travels from `source`, partition `i` runs for its
    /// `compute_ns` on its device and sends its `output_bytes` (cut tensors, or the
    /// network output for the last one) on.
    pub fn from_costs(costs: &PartitionCosts, source: usize, sink: usize) -> Self {
        InferencePlan {
            source,
            sink,
            input_bytes: costs.input_bytes,
            stages: costs
                .partitions
                .iter()
                .map(|p| Stage {
                    device: p.device,
                    compute_ns: p.compute_ns,
                    output_bytes: p.output_bytes,
                })
                .collect(),
        }
    }

    /// Costs `candidate` on `network` (`partition::costs`) and builds its plan.
    pub fn from_candidate(
        candidate: &Candidate,
        network: &Network,
        dtype: DType,
        source: usize,
        sink: usize,
    ) -> Result<Self, PartitionError> {
        Ok(Self::from_costs(
            &costs(candidate, network, dtype)?,
            source,
            sink,
        ))
    }
}
