//! An evaluated genome with its selection attributes.

use serde::{Deserialize, Serialize};

/// One evaluated genome.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(
    serialize = "G: Serialize, I: Serialize",
    deserialize = "G: serde::de::DeserializeOwned, I: serde::de::DeserializeOwned"
))]
pub struct Individual<G, I> {
    /// The genome.
    pub genome: G,
    /// Objective values (minimised; ±∞ stored as strings in JSON).
    #[serde(with = "crate::search::individual::nonfinite::vec")]
    pub objectives: Vec<f64>,
    /// Constraint violations (≥ 0; all 0 = feasible).
    pub violations: Vec<f64>,
    /// Problem payload.
    pub info: I,
    /// Generation in which the genome was created (0 = initial population).
    pub birth: u64,
    /// Algorithm fitness, lower is better (SPEA2: F = R + D; NSGA-II: front rank).
    #[serde(with = "crate::search::individual::nonfinite")]
    pub fitness: f64,
    /// NSGA-II crowding distance (larger is better; ∞ at front extremes).
    #[serde(with = "crate::search::individual::nonfinite")]
    pub crowding: f64,
}

impl<G, I> Individual<G, I> {
    /// True when every violation is 0.
    pub fn feasible(&self) -> bool {
        self.violations.iter().all(|&v| v <= 0.0)
    }
    /// Sum of the raw violations.
    pub fn total_violation(&self) -> f64 {
        self.violations.iter().map(|v| v.max(0.0)).sum()
    }
}

/// Serde for f64 that keeps ±∞ and NaN (JSON has no such numbers): finite values are
/// numbers, the others the strings `"inf"`, `"-inf"`, `"nan"`.
pub mod nonfinite {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Text(String),
    }

    fn to_repr(v: f64) -> Repr {
        if v.is_finite() {
            Repr::Num(v)
        } else if v.is_nan() {
            Repr::Text("nan".into())
        } else if v > 0.0 {
            Repr::Text("inf".into())
        } else {
            Repr::Text("-inf".into())
        }
    }

    fn from_repr<E: serde::de::Error>(r: Repr) -> Result<f64, E> {
        match r {
            Repr::Num(v) => Ok(v),
            Repr::Text(t) => match t.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                _ => Err(E::custom(format!(
                    "expected a number, inf, -inf or nan, got {t:?}"
                ))),
            },
        }
    }

    /// Serialises one value.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        to_repr(*v).serialize(s)
    }

    /// Deserialises one value.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        from_repr(Repr::deserialize(d)?)
    }

    /// The same for `Vec<f64>`.
    pub mod vec {
        use super::*;

        /// Serialises a vector.
        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| to_repr(*x)))
        }

        /// Deserialises a vector.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<Repr>::deserialize(d)?
                .into_iter()
                .map(from_repr)
                .collect()
        }
    }
}
