//! Finite-difference gradient checks of every layer kind, run in `f64` through the
//! very same generic kernels that train in `f32`.
//!
//! For each network, the analytic gradient of the batch-mean loss with respect to
//! every parameter and every input value is compared with the central difference
//! `(L(p + h) - L(p - h)) / 2h`, `h = 1e-6`; the relative error
//! `|fd - g| / max(|fd|, |g|)` must stay below 1e-3 wherever the gradient is not
//! negligible (`max(|fd|, |g|) > 1e-7`, where an absolute error below 1e-9 is
//! required instead). Batches of 5 samples in chunks of 2 exercise the cross-chunk
//! reductions (batch norm, gradient sums).

use super::model::Model;
use crate::arch::Arch;
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn check(arch_text: &str, input_scale: f64) {
    let arch = Arch::from_ron(arch_text).unwrap();
    let mut model = Model::<f64>::build(&arch, 3).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    // Random biases / BN params too, so that every path carries signal.
    let normal = Normal::new(0.0, 0.3).unwrap();
    for p in model.params_mut() {
        *p += normal.sample(&mut rng);
    }
    let n = 5;
    let mut dims = vec![n];
    dims.extend_from_slice(&arch.input);
    let size: usize = dims.iter().product();
    let xs: Vec<f64> = (0..size)
        .map(|_| input_scale * Normal::new(0.0, 1.0).unwrap().sample(&mut rng))
        .collect();
    let x = ArrayD::from_shape_vec(IxDyn(&dims), xs).unwrap();
    let k = model.num_classes();
    let y: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
    let (_, g, gin) = model.loss_and_gradients(&x, &y, 2).unwrap();
    let h = 1e-6;
    let mut checked = 0;
    let mut worst: f64 = 0.0;
    let mut compare = |what: &str, i: usize, fd: f64, an: f64| {
        let scale = fd.abs().max(an.abs());
        if scale > 1e-7 {
            let rel = (fd - an).abs() / scale;
            worst = worst.max(rel);
            assert!(rel < 1e-3, "{arch_text}\n{what} {i}: finite difference {fd:e} vs analytic {an:e} (rel {rel:e})");
        } else {
            assert!((fd - an).abs() < 1e-9, "{what} {i}: {fd:e} vs {an:e}");
        }
        checked += 1;
    };
    let np = model.num_params();
    #[allow(clippy::needless_range_loop)]
    for i in 0..np {
        let orig = model.params()[i];
        model.params_mut()[i] = orig + h;
        let lp = model.loss_and_gradients(&x, &y, 2).unwrap().0;
        model.params_mut()[i] = orig - h;
        let lm = model.loss_and_gradients(&x, &y, 2).unwrap().0;
        model.params_mut()[i] = orig;
        compare("param", i, (lp - lm) / (2.0 * h), g[i]);
    }
    let step = (size / 60).max(1);
    for i in (0..size).step_by(step) {
        let mut xp = x.clone();
        xp.as_slice_mut().unwrap()[i] += h;
        let lp = model.loss_and_gradients(&xp, &y, 2).unwrap().0;
        let mut xm = x.clone();
        xm.as_slice_mut().unwrap()[i] -= h;
        let lm = model.loss_and_gradients(&xm, &y, 2).unwrap().0;
        compare("input", i, (lp - lm) / (2.0 * h), gin[i]);
    }
    assert!(checked > np, "checked {checked}");
    assert!(worst < 1e-3);
}

#[test]
fn conv1d_stride_same_dilation() {
    check(
        "Arch(input: [13, 3], layers: [Conv1d(filters: 4, kernel: 3, stride: 2, padding: Same, dilation: 2),
         ReLU, Conv1d(filters: 3, kernel: 2, bias: false), GlobalAvgPool, Dense(units: 3)])",
        1.0,
    );
}

#[test]
fn conv2d_stride_padding_dilation_relu6_maxpool() {
    check(
        "Arch(input: [9, 8, 2], layers: [Conv2d(filters: 3, kernel: 3, stride: 2, padding: Same),
         ReLU6, Conv2d(filters: 4, kernel: 2, dilation: 2), MaxPool2d(size: 2, padding: Same),
         Flatten, Dense(units: 3)])",
        3.0,
    );
}

#[test]
fn depthwise1d_and_avgpool1d_same() {
    check(
        "Arch(input: [12, 3], layers: [DepthwiseConv1d(kernel: 3, stride: 2, padding: Same, dilation: 2),
         AvgPool1d(size: 3, stride: Some(2), padding: Same), MaxPool1d(size: 2, stride: Some(1)),
         Flatten, Dense(units: 2)])",
        1.0,
    );
}

#[test]
fn depthwise2d_avgpool2d_global() {
    check(
        "Arch(input: [7, 6, 3], layers: [DepthwiseConv2d(kernel: 3, padding: Same, dilation: 2),
         DepthwiseConv2d(kernel: 2, stride: 2, bias: false), AvgPool2d(size: 2, padding: Same),
         GlobalAvgPool, Dense(units: 3, bias: false)])",
        1.0,
    );
}

#[test]
fn batchnorm_train_mode_and_residual_add() {
    check(
        "Arch(input: [10, 2], layers: [BatchNorm, Conv1d(filters: 4, kernel: 3, padding: Same), BatchNorm, ReLU,
         Conv1d(filters: 4, kernel: 3, padding: Same), BatchNorm, Add(from: 2), ReLU, GlobalAvgPool, Dense(units: 3)])",
        1.0,
    );
}

#[test]
fn residual_add_fan_out_and_dense_stack() {
    check(
        "Arch(input: [6, 2], layers: [Conv1d(filters: 3, kernel: 1), ReLU, Conv1d(filters: 3, kernel: 3, padding: Same),
         Add(from: 0), Conv1d(filters: 3, kernel: 3, padding: Same), Add(from: 1), Flatten,
         Dense(units: 5), ReLU, Dense(units: 2)])",
        1.0,
    );
}

#[test]
fn batchnorm_on_flat_features() {
    check(
        "Arch(input: [4, 4, 1], layers: [Flatten, Dense(units: 6), BatchNorm, ReLU6, Dense(units: 3)])",
        2.0,
    );
}

/// Buffers are reused across batches: a second pass on the same workspace must give
/// exactly the same gradient (no stale accumulation), for every trainable layer kind.
#[test]
fn reused_workspace_gives_identical_gradients() {
    let arch = Arch::from_ron(
        "Arch(input: [9, 2], layers: [Conv1d(filters: 3, kernel: 3), BatchNorm, ReLU,
         DepthwiseConv1d(kernel: 2), Flatten, Dense(units: 3)])",
    )
    .unwrap();
    let mut model = Model::<f64>::build(&arch, 1).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let n = 6;
    let x: Vec<f64> = (0..n * 18).map(|_| rng.random_range(-1.0..1.0)).collect();
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let mut ws = model.workspace(2, 3).unwrap();
    let idx: Vec<usize> = (0..n).collect();
    model.batch_grad(&mut ws, &x, &y, &idx, true);
    let first = ws.grad.clone();
    model.batch_grad(&mut ws, &x, &y, &idx, true);
    assert_eq!(first, ws.grad);
    assert!(first.iter().all(|g| *g != 0.0));
}

/// The `f32` training path computes the same gradients as the `f64` reference up to
/// float rounding: the largest deviation is below 1e-4 of the largest gradient
/// component (documented tolerance of `f32` storage).
#[test]
fn f32_gradients_match_f64_reference() {
    let arch = Arch::from_ron(
        "Arch(input: [40, 3], layers: [Conv1d(filters: 8, kernel: 5, stride: 2), BatchNorm, ReLU,
         MaxPool1d(size: 2), DepthwiseConv1d(kernel: 3, padding: Same), ReLU6, GlobalAvgPool, Dense(units: 4)])",
    )
    .unwrap();
    let mut m64 = Model::<f64>::build(&arch, 5).unwrap();
    let mut m32 = Model::<f32>::build(&arch, 5).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let n = 16;
    let xs: Vec<f32> = (0..n * 120)
        .map(|_| rng.random_range(-2.0f32..2.0))
        .collect();
    let y: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let x32 = ArrayD::from_shape_vec(IxDyn(&[n, 40, 3]), xs.clone()).unwrap();
    let x64 = x32.mapv(|v| v as f64);
    let (l64, g64, _) = m64.loss_and_gradients(&x64, &y, 4).unwrap();
    let (l32, g32, _) = m32.loss_and_gradients(&x32, &y, 4).unwrap();
    assert!((l64 - l32).abs() < 1e-5 * l64.abs());
    let max = g64.iter().fold(0f64, |m, v| m.max(v.abs()));
    let dev = g64
        .iter()
        .zip(&g32)
        .fold(0f64, |m, (a, b)| m.max((a - *b as f64).abs()));
    assert!(
        dev < 1e-4 * max,
        "max deviation {dev:e} of max gradient {max:e}"
    );
}

#[test]
fn branch_projection_shortcut_2d() {
    // ResNet-style stage: a strided main path and a 1×1 strided projection of the
    // stage input (`Branch(from: 2)`), joined by `Add(from: 7)`.
    check(
        "Arch(input: [6, 6, 2], layers: [Conv2d(filters: 3, kernel: 3, padding: Same), BatchNorm, ReLU,
         Conv2d(filters: 4, kernel: 3, stride: 2, padding: Same), BatchNorm, ReLU,
         Conv2d(filters: 4, kernel: 3, padding: Same), BatchNorm,
         Branch(from: 2), Conv2d(filters: 4, kernel: 1, stride: 2, padding: Same), Add(from: 7),
         ReLU, GlobalAvgPool, Dense(units: 3)])",
        1.0,
    );
}

#[test]
fn branch_into_batchnorm_1d() {
    // The ReLU output (layer 1) fans out to a convolution and to a branch that goes
    // straight into a training-mode batch norm.
    check(
        "Arch(input: [8, 2], layers: [Conv1d(filters: 3, kernel: 3, padding: Same), ReLU,
         Conv1d(filters: 3, kernel: 3, padding: Same), Branch(from: 1), BatchNorm, Add(from: 2),
         GlobalAvgPool, Dense(units: 2)])",
        1.0,
    );
}

#[test]
fn rectangular_kernels_and_strides() {
    // DS-CNN-like: a 4×2 kernel with stride (2, 1), then a (1, 3) depthwise kernel.
    check(
        "Arch(input: [9, 6, 2], layers: [Conv2d(filters: 3, kernel: (4, 2), stride: (2, 1), padding: Same),
         ReLU, DepthwiseConv2d(kernel: (1, 3), stride: (1, 2)), Conv2d(filters: 2, kernel: (2, 1)),
         Flatten, Dense(units: 3)])",
        1.0,
    );
}
