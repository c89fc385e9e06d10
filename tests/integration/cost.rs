//! Integration tests: cost model, partitions, search space, `distrinas cost`.

use crate::cli_support;
use distrinas::arch::cost::{arch_cost, layer_costs};
use distrinas::arch::sram::{last_use, peak_sram, source_tensor};
use distrinas::arch::{Arch, Layer};
use distrinas::network::{Device, Network};
use distrinas::partition::space::{CandidateGenome, SpaceContext};
use distrinas::partition::{check_budgets, costs, Candidate, PartitionCosts, Resource};
use distrinas::scenario::{DType, SearchSpace};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn net_file(name: &str) -> Arch {
    let path = cli_support::repo(&format!("models/nets/{name}.ron"));
    Arch::from_ron(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn totals(name: &str) -> (u64, u64) {
    let c = arch_cost(&net_file(name), DType::Int8).unwrap();
    (c.params, c.macs)
}

#[test]
fn mobilenet_v1_matches_keras_and_paper() {
    // Keras `keras.applications.MobileNet()` summary: Total params 4,253,864 (BN included).
    // Howard et al. 2017, Table 8: 569 million mult-adds, 4.2 million parameters.
    let (params, macs) = totals("mobilenet-v1-1.0-224");
    assert_eq!(params, 4_253_864);
    assert_eq!(macs, 568_740_352);
    assert_eq!((macs + 500_000) / 1_000_000, 569);
}

#[test]
fn mobilenet_v2_matches_keras_and_paper() {
    // Keras `keras.applications.MobileNetV2()` summary: Total params 3,538,984.
    // Sandler et al. 2018, Table 3: 300M multiply-adds, 3.4M parameters.
    let (params, macs) = totals("mobilenet-v2-1.0-224");
    assert_eq!(params, 3_538_984);
    assert_eq!(macs, 300_774_272);
    assert_eq!(macs / 1_000_000, 300);
}

#[test]
fn har_and_small_networks() {
    // Issue 4: har-s 3,220 params, har-m 43,588 params (hand count in docs/networks.md).
    assert_eq!(totals("har-s").0, 3_220);
    assert_eq!(totals("har-m").0, 43_588);
    for n in [
        "ds-cnn",
        "kws-cnn",
        "mobilenet-v1-0.25-96",
        "mobilenet-v2-0.35",
    ] {
        let c = arch_cost(&net_file(n), DType::Int8).unwrap();
        assert!(c.params > 0 && c.macs > 0, "{n}");
    }
}

#[test]
fn resnet8_matches_keras_with_projection_shortcuts() {
    // MLPerf Tiny image classification ResNet-8 (`resnet_v1_eembc`, mlcommons/tiny
    // benchmark/training/image_classification/keras_model.py), Keras model summary in
    // Logs/training_log.txt of the same folder: "Total params: 78,666 (307.29 KB),
    // Trainable params: 78,186, Non-trainable params: 480" (BN moving mean/variance of
    // 16 + 16 + 16 + 32 + 32 + 64 + 64 = 240 channels). Per layer: conv 448, 2,320,
    // 2,320, 4,640, 9,248, projection 544, 18,496, 36,928, projection 2,112; dense 650;
    // BN 4 × 240 = 960.
    let a = net_file("resnet8");
    let c = arch_cost(&a, DType::Int8).unwrap();
    assert_eq!(c.params, 78_666);
    // Deployment folds the 7 BNs into their (biased) convolutions: 78,666 - 960.
    assert_eq!(c.deploy_params, 77_706);
    // MACs by hand: 32·32·16·27 + 2·(32·32·16·144) + 16·16·32·144 + 16·16·32·288
    // + 16·16·32·16 + 8·8·64·288 + 8·8·64·576 + 8·8·64·32 + 64·10.
    assert_eq!(c.macs, 12_501_632);
    // Peak SRAM: conv 6 reads relu 5's output (16,384 B) while relu 2's output (16,384 B)
    // is kept for the Add at 8; output 16,384 B + im2col 2·16·9·2 = 576 B.
    assert_eq!(c.peak_sram_bytes, 3 * 16_384 + 576);
    let l = layer_costs(&a, DType::Int8).unwrap();
    assert_eq!(peak_sram(&a, &l, 0..31, DType::Int8).at_layer, 6);
    // A cut right after Branch(from: 9) carries the stack-2 input (tensor 10, read by the
    // projection at 16) and the main path's BN output (tensor 15, read by the Add at 17);
    // the Branch output is the same tensor as tensor 10 and is not sent twice.
    let last = last_use(&a);
    assert_eq!(source_tensor(&a, 16), 10);
    assert_eq!((last[10], last[15], last[16]), (16, 17, 15));
    assert_eq!(distrinas::arch::sram::cut_tensors(&last, 16), vec![10, 15]);
    // Partition 16..31: receive 24,576 B; the projection conv peaks with its input
    // 16,384 + kept 8,192 + output 8,192 + im2col 2·16·1·2 = 64.
    let p = peak_sram(&a, &l, 16..31, DType::Int8);
    assert_eq!(p.receive_bytes, 16_384 + 8_192);
    assert_eq!((p.bytes, p.at_layer), (24_576 + 32_832, 16));
    // Branch runs no operator: no flash, no time.
    assert!(!l[15].deployed() && l[15].flash_bytes == 0 && l[15].alias_of == Some(9));
}

#[test]
fn ds_cnn_rectangular_first_kernel() {
    // DS-CNN-S (ARM ML-KWS-for-MCU `train_commands.txt`: `--model_size_info 5 64 10 4 2 2
    // 64 3 3 1 1 ...`; MLPerf Tiny KWS): Conv 64 (10×4) stride 2 on 49×10 → [25, 5, 64].
    // Hand count: conv 10·4·64 + 64 = 2,624, BN 256; 4 × (dw 9·64 + 64 = 640, BN 256,
    // pw 64·64 + 64 = 4,160, BN 256); dense 64·12 + 12 = 780 → 24,908 params.
    // MACs: 8,000·40 + 4 × (8,000·9 + 8,000·64) + 768 = 2,656,768 (≈ 5.3 M ops at 2 ops
    // per MAC; the Hello Edge paper's table, an image in the repository README, was not
    // checked).
    let a = net_file("ds-cnn");
    assert_eq!(a.shapes().unwrap()[0], vec![25, 5, 64]);
    let c = arch_cost(&a, DType::Int8).unwrap();
    assert_eq!((c.params, c.macs), (24_908, 2_656_768));
    // Square sizes are written back as plain integers, rectangular ones as pairs.
    let back = Arch::from_ron(&a.to_ron()).unwrap();
    assert_eq!(back, a);
    assert!(a.to_ron().contains("kernel: (10, 4)"));
    assert!(a.to_ron().contains("stride: 2,"));
    let bad =
        Arch::from_ron("Arch(input: [8, 8, 1], layers: [Conv2d(filters: 2, kernel: (1, 2, 3))])");
    assert!(bad.is_err());
}

fn dev(id: &str, flash: u64, sram: u64) -> Device {
    Device {
        id: id.into(),
        profile: "test".into(),
        flash_bytes: flash,
        sram_bytes: sram,
        mac_per_s: 1e8,
        layer_overhead_us: 5.0,
        active_mw: 10.0,
        idle_mw: 1.0,
        tx_mw: 10.0,
        rx_mw: 10.0,
        battery_mj: None,
        cores: 1,
        energy_budget_mj: None,
        latency: Default::default(),
    }
}

#[test]
fn chain_peak_sram_by_hand_with_receive_buffer() {
    // Dense chain, int8: [64] -> Dense 32 -> ReLU -> Dense 16 -> ReLU -> Dense 4
    let a = Arch::from_ron(
        "Arch(input: [8, 8], layers: [Flatten, Dense(units: 32), ReLU, Dense(units: 16), ReLU, Dense(units: 4)])",
    )
    .unwrap();
    let l = layer_costs(&a, DType::Int8).unwrap();
    // live: Flatten 64+64, Dense 64+32, ReLU 32+32, Dense 32+16, ReLU 16+16, Dense 16+4
    assert_eq!(peak_sram(&a, &l, 0..6, DType::Int8).bytes, 128);
    // partition 3..6 receives the 32-byte tensor: max(48, 32, 20) + 32 = 80
    let p = peak_sram(&a, &l, 3..6, DType::Int8);
    assert_eq!((p.bytes, p.receive_bytes), (80, 32));
    let net = Network::new(
        vec![dev("a", 10_000, 100), dev("b", 100, 100)],
        vec![],
        vec![],
    );
    let cand = Candidate {
        arch: a,
        cuts: vec![3],
        map: vec!["a".into(), "b".into()],
        standby: Vec::new(),
    };
    let c = costs(&cand, &net, DType::Int8).unwrap();
    assert_eq!(c.cut_bytes, vec![32]);
    assert_eq!(c.partitions[1].peak_sram_bytes, 80);
    // partition 0: 3 layers x 5 us + 2048 MACs / 1e8 = 15 us + 20.48 us
    assert_eq!(c.partitions[0].compute_ns, 15_000 + 20_480);
    let v = check_budgets(&c, &net);
    // a: SRAM 128 > 100; b: flash (16*32+64+... ) > 100
    assert!(v
        .iter()
        .any(|x| x.device_id == "a" && x.resource == Resource::Sram && x.used_bytes == 128));
    assert!(v
        .iter()
        .any(|x| x.device_id == "b" && x.resource == Resource::Flash));
}

#[test]
fn residual_peak_sram_by_hand() {
    // [16, 4] int8. Tensors: t1 = conv0 out [16,8] 128 B, t2 = relu 128 B (kept for Add at 4),
    // conv2 out 128, add out 128.
    let a = Arch::from_ron(
        "Arch(input: [16, 4], layers: [Conv1d(filters: 8, kernel: 3, padding: Same), ReLU,
         Conv1d(filters: 8, kernel: 3, padding: Same), Add(from: 1), ReLU, GlobalAvgPool])",
    )
    .unwrap();
    let l = layer_costs(&a, DType::Int8).unwrap();
    // conv0: 64 + 128 + scratch 2*4*3*2 = 48 -> 240; relu1: 256;
    // conv2: 128 + 128 + scratch 2*8*3*2 = 96 -> 352; add3: 128 + 128 + kept 128 = 384
    let p = peak_sram(&a, &l, 0..6, DType::Int8);
    assert_eq!((p.bytes, p.at_layer), (384, 3));
    // cut at 3: tensor 3 (conv2 out) and the kept tensor 2 cross: 256 B received;
    // partition 3..6: add 384, relu 256, gap 136 -> 384 + 256
    let q = peak_sram(&a, &l, 3..6, DType::Int8);
    assert_eq!((q.bytes, q.receive_bytes), (640, 256));
}

#[test]
fn cli_json_keys() {
    let o = cli_support::run(&["cost", "models/nets/har-s.ron", "--json"]);
    assert!(o.status.success(), "{}", cli_support::stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&cli_support::stdout(&o)).unwrap();
    assert_eq!(v["total"]["params"], 3220);
    assert_eq!(v["total"]["macs"], 158_848);
    assert!(v["total"]["flash_bytes"].as_u64().unwrap() > 0);
    assert_eq!(v["total"]["peak_sram_bytes"], 3072);
    let l0 = &v["layers"][0];
    assert_eq!(l0["name"], "conv1d_0");
    assert_eq!(l0["kind"], "Conv1d");
    assert_eq!(l0["output_shape"], serde_json::json!([96, 16]));
    assert_eq!(l0["params"], 496);
    assert_eq!(l0["macs"], 46_080);
}

#[test]
fn cli_errors_have_position_and_layer() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ron");
    std::fs::write(
        &bad,
        "Arch(input: [10, 2], layers: [\n  Conv1d(filters: 4, kernal: 3)])",
    )
    .unwrap();
    let o = cli_support::run(&["cost", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        cli_support::stderr(&o).contains("bad.ron:2:"),
        "{}",
        cli_support::stderr(&o)
    );
    let shp = dir.path().join("shape.ron");
    std::fs::write(&shp, "Arch(input: [10, 2], layers: [Dense(units: 3)])").unwrap();
    let o = cli_support::run(&["cost", shp.to_str().unwrap()]);
    assert!(cli_support::stderr(&o).contains("layer 0 (Dense)"));
}

#[test]
fn docs_ron_examples_parse() {
    let doc = std::fs::read_to_string(cli_support::repo("docs/networks.md")).unwrap();
    let mut n = 0;
    for block in doc.split("```ron").skip(1) {
        let text = block.split("```").next().unwrap();
        if text.trim_start().starts_with("Candidate") {
            let c: Candidate = ron::from_str(text).unwrap();
            c.arch.shapes().unwrap();
        } else {
            Arch::from_ron(text).unwrap().shapes().unwrap();
        }
        n += 1;
    }
    assert!(n >= 2);
}

fn ctx(input: Vec<usize>) -> (SpaceContext, Network) {
    let net = Network::new(
        vec![
            dev("a", 1 << 20, 1 << 18),
            dev("b", 1 << 20, 1 << 18),
            dev("c", 1 << 20, 1 << 18),
        ],
        vec![],
        vec![],
    );
    let space = SearchSpace {
        max_blocks: 6,
        max_cuts: 3,
        ..SearchSpace::default()
    };
    let cx = SpaceContext::new(
        space,
        input,
        4,
        vec!["a".into(), "b".into(), "c".into()],
        vec![vec![1], vec![0, 2], vec![1]],
    )
    .unwrap();
    (cx, net)
}

/// Checks the one-pass SRAM walk of `costs` against the definition in docs/networks.md
/// ("SRAM model"), evaluated naively: for each partition, the receive buffer (every
/// tensor crossing its incoming cut) plus the maximum over its running layers of
/// input + output + scratch + every earlier tensor kept for a later `Add`.
fn naive_matches(cand: &Candidate, c: &PartitionCosts) {
    let a = &cand.arch;
    let l = &c.layers;
    let last = last_use(a);
    let bytes = |t: usize| {
        if t == 0 {
            c.input_bytes
        } else {
            l[t - 1].output_bytes
        }
    };
    let crossing = |cut: usize| -> u64 { (0..=cut).filter(|&t| last[t] >= cut).map(bytes).sum() };
    for (k, &cut) in cand.cuts.iter().enumerate() {
        assert_eq!(c.cut_bytes[k], crossing(cut));
    }
    for p in &c.partitions {
        let receive = if p.layers.start > 0 {
            crossing(p.layers.start)
        } else {
            0
        };
        let (mut peak, mut peak_in) = (0, 0);
        for i in p.layers.clone().filter(|&i| l[i].deployed()) {
            let input = source_tensor(a, i);
            let kept: u64 = (0..=i)
                .filter(|&t| t != input && last[t] >= i)
                .map(bytes)
                .sum();
            let live = bytes(input) + l[i].output_bytes + l[i].scratch_bytes + kept;
            let inplace = matches!(a.layers[i], Layer::ReLU | Layer::ReLU6 | Layer::BatchNorm)
                && last[input] == i;
            peak = peak.max(live);
            peak_in = peak_in.max(if inplace { bytes(input) + kept } else { live });
        }
        assert_eq!(p.receive_bytes, receive);
        assert_eq!(p.peak_sram_bytes, peak + receive, "{cand:?}");
        assert_eq!(p.peak_sram_inplace_bytes, peak_in + receive);
    }
}

fn check(g: &CandidateGenome, cx: &SpaceContext, net: &Network) {
    assert!(g.is_valid(cx), "{g:?}");
    let cand = g.to_candidate(cx);
    cand.validate(net).unwrap();
    let c = costs(&cand, net, DType::Int8).unwrap();
    assert_eq!(c.partitions.len(), cand.cuts.len() + 1);
    naive_matches(&cand, &c);
    let text = ron::to_string(g).unwrap();
    let back: CandidateGenome = ron::from_str(&text).unwrap();
    assert_eq!(&back, g);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]
    #[test]
    fn genomes_stay_valid(seed in any::<u64>(), kind in 0usize..3) {
        let input = [vec![100, 6], vec![8, 8, 1], vec![49, 10, 1]][kind].clone();
        let (cx, net) = ctx(input);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = CandidateGenome::random(&cx, &mut rng);
        check(&a, &cx, &net);
        let mut b = CandidateGenome::random(&cx, &mut rng);
        b.mutate(&cx, &mut rng);
        check(&b, &cx, &net);
        let child = CandidateGenome::crossover(&a, &b, &cx, &mut rng);
        check(&child, &cx, &net);
    }
}

/// `cost --scenario --cuts --map`: per-partition costs against the scenario's devices.
/// har-s cut after its max-pool (layer 3): partition 0 runs Conv1d 6→16 k5 on 100 steps
/// (96 × 16 × 5 × 6 = 46,080 MACs), the cut carries the pooled [48, 16] int8 tensor
/// (768 B), partition 1 runs Conv1d 16→32 k5 (44 × 32 × 5 × 16 = 112,640 MACs) and
/// Dense 32→4 (128 MACs).
#[test]
fn cost_with_scenario_gives_partition_costs() {
    let o = cli_support::run(&[
        "cost",
        "models/nets/har-s.ron",
        "--scenario",
        "scenarios/wearable.ron",
        "--cuts",
        "3",
        "--map",
        "wrist,hub",
        "--json",
    ]);
    assert!(o.status.success(), "{}", cli_support::stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&cli_support::stdout(&o)).unwrap();
    let p = &v["partitions"];
    assert_eq!(p["cut_bytes"], serde_json::json!([768]));
    assert_eq!(p["partitions"][0]["device"], "wrist");
    assert_eq!(p["partitions"][0]["macs"], 46_080);
    assert_eq!(p["partitions"][1]["device"], "hub");
    assert_eq!(p["partitions"][1]["macs"], 112_768);
    assert_eq!(p["partitions"][1]["receive_bytes"], 768);
    assert_eq!(p["violations"], serde_json::json!([]));

    let bad = cli_support::run(&[
        "cost",
        "models/nets/har-s.ron",
        "--scenario",
        "scenarios/wearable.ron",
        "--cuts",
        "3",
        "--map",
        "wrist,nowhere",
    ]);
    assert!(!bad.status.success());
    assert!(
        cli_support::stderr(&bad).contains("nowhere"),
        "{}",
        cli_support::stderr(&bad)
    );
    // issue 13: cuts without a map put every partition on the source device
    let unmapped = cli_support::run(&[
        "cost",
        "models/nets/har-s.ron",
        "--scenario",
        "scenarios/wearable.ron",
        "--cuts",
        "3",
    ]);
    assert_eq!(unmapped.status.code(), Some(1));
    assert!(
        cli_support::stderr(&unmapped)
            .contains("--cuts gives 2 partitions: give --map with 2 device ids"),
        "{}",
        cli_support::stderr(&unmapped)
    );
}

/// A projection shortcut (`Branch` + 1×1 strided conv + `Add`) trains end to end from the
/// CLI: 8×8 digits, 3 epochs. Trainable parameters by hand: convs 80 + 1,168 + 2,320,
/// projection 8·16 + 16 = 144, dense 170, BN γ/β 2 × (8 + 16 + 16) = 80 → 3,962.
#[test]
fn branch_projection_trains_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let arch = dir.path().join("proj.ron");
    std::fs::write(
        &arch,
        "Arch(input: [8, 8, 1], layers: [
            Conv2d(filters: 8, kernel: 3, padding: Same), BatchNorm, ReLU,
            Conv2d(filters: 16, kernel: 3, stride: 2, padding: Same), BatchNorm, ReLU,
            Conv2d(filters: 16, kernel: 3, padding: Same), BatchNorm,
            Branch(from: 2), Conv2d(filters: 16, kernel: 1, stride: 2, padding: Same),
            Add(from: 7), ReLU, GlobalAvgPool, Dense(units: 10)])",
    )
    .unwrap();
    let o = cli_support::run(&[
        "train",
        "--train",
        "data/digits/digits.csv",
        "--arch",
        arch.to_str().unwrap(),
        "--epochs",
        "3",
        "--json",
    ]);
    assert!(o.status.success(), "{}", cli_support::stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&cli_support::stdout(&o)).unwrap();
    assert_eq!(v["params"], 3_962);
    assert!(v["val_accuracy"].as_f64().unwrap() > 0.6, "{v}");
    assert!(v["int8_accuracy"].as_f64().unwrap() > 0.6, "{v}");
    let c = cli_support::run(&["cost", arch.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&cli_support::stdout(&c)).unwrap();
    // + BN moving mean/variance 80 = 4,042 Keras params.
    assert_eq!(v["total"]["params"], 4_042);
    assert_eq!(v["layers"][8]["alias_of"], 2);
}

/// `distrinas cost … | head`: a closed pipe ends the process quietly (default SIGPIPE
/// action), with no panic message and no error line.
#[cfg(unix)]
#[test]
fn printing_into_a_closed_pipe_does_not_panic() {
    use std::os::unix::process::ExitStatusExt;
    let out = cli_support::run_into_closed_pipe(&["cost", "models/nets/resnet8.ron"]);
    let err = cli_support::stderr(&out);
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(err.is_empty(), "stderr: {err}");
    const SIGPIPE: i32 = 13; // Linux and the BSDs
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{:?}", out.status);
}

/// Issue 13: two cost-model mutants survived the suite (depthwise scratch halved;
/// unfolded-BatchNorm flash changed). By hand, int8, input [20, 8]:
/// - DepthwiseConv1d(kernel 3): scratch = Cin × k × sizeof(int16) = 8 × 3 × 2 = 48 B
///   (`arm_depthwise_conv_s8_opt_get_buffer_size`); flash = 24 weights × 1 B + 8 int32
///   biases × 4 B + 2 tensors × 8 channels × 12 B + 64 = 24 + 32 + 192 + 64 = 312 B.
/// - BatchNorm after a ReLU (not foldable): 2 × 8 = 16 deployed params (scale, offset)
///   × 1 B + 12 B of per-tensor quantisation + 64 B metadata = 92 B flash, and
///   `out` = 18 × 8 = 144 MACs.
#[test]
fn depthwise_scratch_and_unfolded_batchnorm_by_hand() {
    let arch = Arch::from_ron(
        "Arch(input: [20, 8], layers: [DepthwiseConv1d(kernel: 3), ReLU, BatchNorm,
         GlobalAvgPool, Dense(units: 2)])",
    )
    .unwrap();
    let c = layer_costs(&arch, DType::Int8).unwrap();
    assert_eq!(c[0].scratch_bytes, 48);
    assert_eq!(c[0].flash_bytes, 312);
    assert!(!c[2].folded);
    assert_eq!(c[2].deploy_params, 16);
    assert_eq!(c[2].flash_bytes, 92);
    assert_eq!(c[2].macs, 144);
    // right after the depthwise conv, the same BatchNorm folds: no flash, no MACs
    let folded = Arch::from_ron(
        "Arch(input: [20, 8], layers: [DepthwiseConv1d(kernel: 3), BatchNorm, ReLU,
         GlobalAvgPool, Dense(units: 2)])",
    )
    .unwrap();
    let f = layer_costs(&folded, DType::Int8).unwrap();
    assert!(f[1].folded);
    assert_eq!((f[1].flash_bytes, f[1].macs, f[1].deploy_params), (0, 0, 0));
}
