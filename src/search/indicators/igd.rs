//! Inverted generational distance (Coello & Reyes Sierra 2004) and IGD+ (Ishibuchi et
//! al. 2015) of an approximation set against a reference front (minimisation).

use crate::search::SearchError;

fn check(approx: &[Vec<f64>], front: &[Vec<f64>]) -> Result<(), SearchError> {
    if approx.is_empty() || front.is_empty() {
        return Err(SearchError::Indicator(
            "IGD needs a non-empty set and reference front".into(),
        ));
    }
    let d = front[0].len();
    if approx.iter().chain(front).any(|p| p.len() != d) {
        return Err(SearchError::Indicator(
            "points and reference front differ in dimension".into(),
        ));
    }
    Ok(())
}

/// IGD = mean over reference points z of min over a ∈ approx of ‖a − z‖₂.
pub fn igd(approx: &[Vec<f64>], front: &[Vec<f64>]) -> Result<f64, SearchError> {
    check(approx, front)?;
    Ok(mean_min(approx, front, |a, z| {
        a.iter()
            .zip(z)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt()
    }))
}

/// IGD+ = mean over z of min over a of ‖max(a − z, 0)‖₂ (weakly Pareto compliant).
pub fn igd_plus(approx: &[Vec<f64>], front: &[Vec<f64>]) -> Result<f64, SearchError> {
    check(approx, front)?;
    Ok(mean_min(approx, front, |a, z| {
        a.iter()
            .zip(z)
            .map(|(x, y)| (x - y).max(0.0).powi(2))
            .sum::<f64>()
            .sqrt()
    }))
}

fn mean_min(approx: &[Vec<f64>], front: &[Vec<f64>], d: impl Fn(&[f64], &[f64]) -> f64) -> f64 {
    front
        .iter()
        .map(|z| approx.iter().map(|a| d(a, z)).fold(f64::INFINITY, f64::min))
        .sum::<f64>()
        / front.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        let front = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
        let approx = vec![vec![1.0, 1.0]];
        assert_eq!(igd(&approx, &front).unwrap(), 1.0);
        assert_eq!(igd_plus(&approx, &front).unwrap(), 1.0);
        // a point better than the front in one objective: IGD+ only counts what is worse
        let approx = vec![vec![0.0, 0.5]];
        let i = igd(&approx, &front).unwrap();
        assert!((i - (0.5 + 1.25f64.sqrt()) / 2.0).abs() < 1e-15);
        assert!((igd_plus(&approx, &front).unwrap() - 0.5 * 0.5).abs() < 1e-15);
        assert_eq!(igd(&front, &front).unwrap(), 0.0);
    }
}
