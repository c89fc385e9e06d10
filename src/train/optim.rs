//! Optimisers (Adam with decoupled weight decay, SGD with momentum) and learning-rate
//! schedules, all on the flat parameter vector.

use serde::{Deserialize, Serialize};

/// Which optimiser updates the weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Optimizer {
    /// Adam (Kingma & Ba 2015) with bias correction. `weight_decay` is decoupled
    /// (AdamW, Loshchilov & Hutter 2019): `p -= lr · weight_decay · p` each step,
    /// applied to weight tensors only (not biases or batch-norm parameters).
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay (0.9).
        beta1: f64,
        /// Second-moment decay (0.999).
        beta2: f64,
        /// Denominator offset (1e-8).
        eps: f64,
        /// Decoupled weight decay per unit learning rate (0 = none).
        weight_decay: f64,
    },
    /// SGD with (heavy-ball) momentum, PyTorch convention:
    /// `v = momentum · v + (g + weight_decay · p)`, `p -= lr · v`.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum coefficient (e.g. 0.9).
        momentum: f64,
        /// L2 penalty coefficient on weight tensors (0 = none).
        weight_decay: f64,
    },
}

impl Optimizer {
    /// Adam with the usual defaults and learning rate `lr`.
    pub fn adam(lr: f64) -> Optimizer {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            Optimizer::Adam { lr, .. } | Optimizer::Sgd { lr, .. } => lr,
        }
    }

    /// The same optimiser with base learning rate `lr`.
    pub fn with_lr(mut self, new: f64) -> Optimizer {
        match &mut self {
            Optimizer::Adam { lr, .. } | Optimizer::Sgd { lr, .. } => *lr = new,
        }
        self
    }
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer::adam(1e-3)
    }
}

/// Learning rate as a function of the epoch (0-based), multiplying the base rate.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum Schedule {
    /// Constant learning rate.
    #[default]
    Constant,
    /// Cosine annealing from the base rate at epoch 0 to `min_factor · base` at the
    /// last epoch: `f(e) = min + (1 - min) · (1 + cos(π e / (E - 1))) / 2`.
    Cosine {
        /// Final fraction of the base rate.
        min_factor: f64,
    },
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between decays.
        every: usize,
        /// Decay factor.
        gamma: f64,
    },
}

impl Schedule {
    /// Factor applied to the base learning rate at `epoch` of `epochs`.
    pub fn factor(&self, epoch: usize, epochs: usize) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Cosine { min_factor } => {
                if epochs <= 1 {
                    return 1.0;
                }
                let t = epoch as f64 / (epochs - 1) as f64;
                min_factor + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Schedule::Step { every, gamma } => gamma.powi((epoch / every.max(1)) as i32),
        }
    }
}

/// Optimiser state for a flat parameter vector.
#[derive(Debug, Clone)]
pub(crate) struct OptState {
    opt: Optimizer,
    m: Vec<f32>,
    v: Vec<f32>,
    step: i32,
    /// 1 for weight tensors (decayed), 0 for biases / batch-norm parameters.
    decay_mask: Vec<bool>,
}

impl OptState {
    pub fn new(opt: Optimizer, decay_mask: Vec<bool>) -> OptState {
        let n = decay_mask.len();
        OptState {
            opt,
            m: vec![0.0; n],
            v: vec![0.0; n],
            step: 0,
            decay_mask,
        }
    }

    /// One update of `params` with gradient `grad` at learning rate `lr`.
    pub fn step(&mut self, params: &mut [f32], grad: &[f32], lr: f64) {
        self.step += 1;
        match self.opt {
            Optimizer::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                let bc1 = 1.0 - beta1.powi(self.step);
                let bc2 = 1.0 - beta2.powi(self.step);
                let step = (lr / bc1) as f32;
                let (b1, b2) = (beta1 as f32, beta2 as f32);
                let inv_bc2 = (1.0 / bc2) as f32;
                let eps = eps as f32;
                let decay = (lr * weight_decay) as f32;
                for i in 0..params.len() {
                    let g = grad[i];
                    let m = b1 * self.m[i] + (1.0 - b1) * g;
                    let v = b2 * self.v[i] + (1.0 - b2) * g * g;
                    self.m[i] = m;
                    self.v[i] = v;
                    if decay != 0.0 && self.decay_mask[i] {
                        params[i] -= decay * params[i];
                    }
                    params[i] -= step * m / ((v * inv_bc2).sqrt() + eps);
                }
            }
            Optimizer::Sgd {
                momentum,
                weight_decay,
                ..
            } => {
                let (lr, mu, wd) = (lr as f32, momentum as f32, weight_decay as f32);
                for i in 0..params.len() {
                    let mut g = grad[i];
                    if wd != 0.0 && self.decay_mask[i] {
                        g += wd * params[i];
                    }
                    let v = mu * self.m[i] + g;
                    self.m[i] = v;
                    params[i] -= lr * v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_adam_step_moves_by_lr() {
        // With bias correction the first step is lr · g / (|g| + eps) ≈ lr · sign(g).
        let mut st = OptState::new(Optimizer::adam(0.01), vec![true; 2]);
        let mut p = [1.0f32, -1.0];
        st.step(&mut p, &[3.0, -0.5], 0.01);
        assert!(
            (p[0] - 0.99).abs() < 1e-6 && (p[1] + 0.99).abs() < 1e-6,
            "{p:?}"
        );
    }

    /// Two Adam steps by hand (Kingma & Ba, Algorithm 1), lr 0.1, g = 1 then −2:
    /// m₂ = 0.9·0.1 + 0.1·(−2) = −0.11, v₂ = 0.999·0.001 + 0.001·4 = 0.004999;
    /// m̂ = −0.11 / 0.19, v̂ = 0.004999 / 0.001999; p₂ = −0.1 − 0.1·m̂/(√v̂ + 1e-8)
    /// = −0.0633896 (the first step alone cannot tell whether either bias
    /// correction uses the right step count).
    #[test]
    fn two_adam_steps_by_hand() {
        let mut st = OptState::new(Optimizer::adam(0.1), vec![true]);
        let mut p = [0.0f32];
        st.step(&mut p, &[1.0], 0.1);
        assert!((p[0] + 0.1).abs() < 1e-6, "{p:?}");
        st.step(&mut p, &[-2.0], 0.1);
        assert!((p[0] + 0.063_389_65).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn sgd_momentum_accumulates() {
        let opt = Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.0,
        };
        let mut st = OptState::new(opt, vec![true]);
        let mut p = [0.0f32];
        st.step(&mut p, &[1.0], 0.1);
        st.step(&mut p, &[1.0], 0.1);
        // v1 = 1, v2 = 1.9: p = -0.1 - 0.19
        assert!((p[0] + 0.29).abs() < 1e-6);
    }

    #[test]
    fn decoupled_weight_decay_spares_biases() {
        let opt = Optimizer::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.5,
        };
        let mut st = OptState::new(opt, vec![true, false]);
        let mut p = [2.0f32, 2.0];
        st.step(&mut p, &[0.0, 0.0], 0.1);
        assert!((p[0] - 2.0 * (1.0 - 0.05)).abs() < 1e-6);
        assert_eq!(p[1], 2.0);
    }

    #[test]
    fn schedules() {
        let c = Schedule::Cosine { min_factor: 0.1 };
        assert!((c.factor(0, 11) - 1.0).abs() < 1e-12);
        assert!((c.factor(5, 11) - 0.55).abs() < 1e-12);
        assert!((c.factor(10, 11) - 0.1).abs() < 1e-12);
        let s = Schedule::Step {
            every: 10,
            gamma: 0.5,
        };
        assert_eq!(s.factor(9, 100), 1.0);
        assert_eq!(s.factor(25, 100), 0.25);
    }
}
