//! Standard test problems on bounded real vectors: ZDT1–4, 6, DTLZ1–7, BNH, TNK, with
//! sampled true Pareto fronts for IGD. All use SBX (η 15, p 0.9) and polynomial
//! mutation (η 20, p 1/n).

pub mod constrained;
pub mod dtlz;
pub mod zdt;

use super::operators::{polynomial::Polynomial, sbx::Sbx};
use super::problem::{Evaluation, Problem, RealGenome};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Which test function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ZDT1 (convex).
    Zdt1,
    /// ZDT2 (concave).
    Zdt2,
    /// ZDT3 (disconnected).
    Zdt3,
    /// ZDT4 (multimodal).
    Zdt4,
    /// ZDT6 (non-uniform).
    Zdt6,
    /// DTLZ1..7 (`Dtlz(1)` .. `Dtlz(7)`).
    Dtlz(u8),
    /// Binh & Korn (2 constraints).
    Bnh,
    /// Tanaka (2 constraints).
    Tnk,
}

/// A test problem instance.
#[derive(Debug, Clone)]
pub struct TestProblem {
    /// The function.
    pub kind: Kind,
    /// Number of objectives.
    pub objectives: usize,
    /// Lower bounds of the variables.
    pub lower: Vec<f64>,
    /// Upper bounds of the variables.
    pub upper: Vec<f64>,
    /// Crossover.
    pub sbx: Sbx,
    /// Mutation.
    pub pm: Polynomial,
}

impl TestProblem {
    fn new(kind: Kind, objectives: usize, lower: Vec<f64>, upper: Vec<f64>) -> Self {
        TestProblem {
            kind,
            objectives,
            lower,
            upper,
            sbx: Sbx::default(),
            pm: Polynomial::default(),
        }
    }

    /// ZDT1 with `n` variables in [0, 1].
    pub fn zdt1(n: usize) -> Self {
        Self::new(Kind::Zdt1, 2, vec![0.0; n], vec![1.0; n])
    }

    /// A problem by name: `zdt1`, `zdt2`, `zdt3`, `zdt4`, `zdt6` (default n: 30, ZDT4/6:
    /// 10), `dtlz1`..`dtlz7` (3 objectives; n = M + k − 1 with k = 5 for DTLZ1, 20 for
    /// DTLZ7, else 10 — DTLZ2 thus has 12), `bnh`, `tnk`. `vars`/`objs` override.
    pub fn by_name(name: &str, vars: Option<usize>, objs: Option<usize>) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        let zdt = |kind, default_n: usize, first: (f64, f64), rest: (f64, f64)| {
            let n = vars.unwrap_or(default_n).max(2);
            let mut lo = vec![rest.0; n];
            let mut hi = vec![rest.1; n];
            lo[0] = first.0;
            hi[0] = first.1;
            Self::new(kind, 2, lo, hi)
        };
        Some(match name.as_str() {
            "zdt1" => zdt(Kind::Zdt1, 30, (0.0, 1.0), (0.0, 1.0)),
            "zdt2" => zdt(Kind::Zdt2, 30, (0.0, 1.0), (0.0, 1.0)),
            "zdt3" => zdt(Kind::Zdt3, 30, (0.0, 1.0), (0.0, 1.0)),
            "zdt4" => zdt(Kind::Zdt4, 10, (0.0, 1.0), (-5.0, 5.0)),
            "zdt6" => zdt(Kind::Zdt6, 10, (0.0, 1.0), (0.0, 1.0)),
            "bnh" => Self::new(Kind::Bnh, 2, vec![0.0, 0.0], vec![5.0, 3.0]),
            "tnk" => Self::new(
                Kind::Tnk,
                2,
                vec![1e-12, 1e-12],
                vec![std::f64::consts::PI; 2],
            ),
            s if s.starts_with("dtlz") => {
                let i: u8 = s[4..].parse().ok().filter(|i| (1..=7).contains(i))?;
                let m = objs.unwrap_or(3).max(2);
                let k = match i {
                    1 => 5,
                    7 => 20,
                    _ => 10,
                };
                let n = vars.unwrap_or(m + k - 1).max(m);
                Self::new(Kind::Dtlz(i), m, vec![0.0; n], vec![1.0; n])
            }
            _ => return None,
        })
    }

    /// Names accepted by [`TestProblem::by_name`].
    pub const NAMES: [&'static str; 14] = [
        "zdt1", "zdt2", "zdt3", "zdt4", "zdt6", "dtlz1", "dtlz2", "dtlz3", "dtlz4", "dtlz5",
        "dtlz6", "dtlz7", "bnh", "tnk",
    ];

    /// Objectives and constraint violations of `x`.
    pub fn eval(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        match self.kind {
            Kind::Zdt1 | Kind::Zdt2 | Kind::Zdt3 | Kind::Zdt4 | Kind::Zdt6 => {
                (zdt::eval(self.kind, x), Vec::new())
            }
            Kind::Dtlz(i) => (dtlz::eval(i, self.objectives, x), Vec::new()),
            Kind::Bnh => constrained::bnh(x),
            Kind::Tnk => constrained::tnk(x),
        }
    }

    /// About `n` points sampled on the true Pareto front (`None` when not implemented).
    pub fn true_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        match self.kind {
            Kind::Zdt1 | Kind::Zdt2 | Kind::Zdt3 | Kind::Zdt4 | Kind::Zdt6 => {
                Some(zdt::front(self.kind, n))
            }
            Kind::Dtlz(i) => Some(dtlz::front(i, self.objectives, n)),
            Kind::Bnh => Some(constrained::bnh_front(n)),
            Kind::Tnk => None,
        }
    }
}

impl Problem for TestProblem {
    type Genome = RealGenome;
    type Info = ();

    fn num_objectives(&self) -> usize {
        self.objectives
    }
    fn num_constraints(&self) -> usize {
        match self.kind {
            Kind::Bnh | Kind::Tnk => 2,
            _ => 0,
        }
    }
    fn random_genome(&self, rng: &mut ChaCha8Rng) -> RealGenome {
        RealGenome(
            self.lower
                .iter()
                .zip(&self.upper)
                .map(|(l, u)| l + rng.random::<f64>() * (u - l))
                .collect(),
        )
    }
    fn crossover(
        &self,
        a: &RealGenome,
        b: &RealGenome,
        rng: &mut ChaCha8Rng,
    ) -> (RealGenome, RealGenome) {
        let (c, d) = self.sbx.cross(&a.0, &b.0, &self.lower, &self.upper, rng);
        (RealGenome(c), RealGenome(d))
    }
    fn mutate(&self, g: &mut RealGenome, rng: &mut ChaCha8Rng) {
        self.pm.mutate(&mut g.0, &self.lower, &self.upper, rng);
    }
    /// Analytic functions of ≤ 30 variables: sequential is faster.
    fn parallel(&self) -> bool {
        false
    }
    fn evaluate(&self, g: &RealGenome) -> Evaluation<()> {
        let (objectives, violations) = self.eval(&g.0);
        Evaluation {
            objectives,
            violations,
            info: (),
        }
    }
}

/// Das & Dennis (1998) simplex-lattice points: all vectors of `m` non-negative
/// multiples of 1/`h` summing to 1 (C(h + m − 1, m − 1) points).
pub fn das_dennis(m: usize, h: usize) -> Vec<Vec<f64>> {
    fn rec(m: usize, left: usize, h: usize, cur: &mut Vec<f64>, out: &mut Vec<Vec<f64>>) {
        if cur.len() == m - 1 {
            cur.push(left as f64 / h as f64);
            out.push(cur.clone());
            cur.pop();
            return;
        }
        for i in 0..=left {
            cur.push(i as f64 / h as f64);
            rec(m, left - i, h, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    rec(m, h, h, &mut Vec::new(), &mut out);
    out
}

/// The largest number of divisions whose Das–Dennis set has at most `n` points (≥ 1).
pub fn divisions_for(m: usize, n: usize) -> usize {
    let count = |h: usize| -> f64 {
        // C(h + m − 1, m − 1)
        (1..m).fold(1.0, |acc, i| acc * (h + i) as f64 / i as f64)
    };
    let mut h = 1;
    while count(h + 1) <= n as f64 {
        h += 1;
    }
    h
}

/// Keeps the points not dominated by another (sorted, duplicates removed).
pub fn filter_nondominated(mut pts: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    pts.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    pts.dedup();
    let refs: Vec<&[f64]> = pts.iter().map(|p| p.as_slice()).collect();
    let keep = super::dominance::non_dominated(&refs);
    keep.into_iter().map(|i| pts[i].clone()).collect()
}
