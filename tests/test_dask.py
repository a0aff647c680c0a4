"""pirho.hmm.dask on a 2-worker LocalCluster: the same results as the in-process batch."""

from __future__ import annotations

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pirho_dask = pytest.importorskip("pirho.hmm.compat.dask")

from pirho.hmm import sklearn as hmm  # noqa: E402

START = np.array([0.6, 0.3, 0.1])
TRANS = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])


def gaussian_model(**kwargs):
    model = hmm.GaussianHMM(3, "full", init_params="", **kwargs)
    model.startprob_, model.transmat_ = START, TRANS
    model.means_ = np.array([[0.0, 0.0], [4.0, 1.0], [-3.0, 3.0]])
    model.covars_ = np.array([np.eye(2), [[2.0, 0.4], [0.4, 1.0]], np.eye(2) * 0.5])
    return model


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Four files in three formats; all sequences also returned concatenated."""
    folder = tmp_path_factory.mktemp("seqs")
    model = gaussian_model()
    sequences = [model.sample(n, random_state=i)[0] for i, n in enumerate([80, 50, 120, 30, 60])]
    sequences[2][[5, 6]] = np.nan  # missing observations travel too
    np.save(folder / "a.npy", sequences[0])
    np.savez(folder / "b.npz", X=np.concatenate(sequences[1:3]), lengths=[50, 120])
    with open(folder / "c.csv", "w") as f:
        f.write("seq,x,y\n")
        for name, seq in (("s3", sequences[3]), ("s4", sequences[4])):
            f.writelines(f"{name},{float(x)!r},{float(y)!r}\n" for x, y in seq)
    np.save(folder / "d.npy", sequences[0][:40])
    sequences.append(sequences[0][:40])
    paths = [folder / "a.npy", folder / "b.npz", folder / "c.csv", folder / "d.npy"]
    return paths, np.concatenate(sequences), [len(s) for s in sequences]


def test_decode_and_score_match_the_in_process_batch(cluster, files):
    paths, X, lengths = files
    model = gaussian_model()
    decoded = pirho_dask.decode_files(
        model, paths, client=cluster, posteriors=True, sequence_column="seq", chunk_rows=100
    )
    assert [d.lengths.tolist() for d in decoded] == [[80], [50, 120], [30, 60], [40]]
    assert decoded[2].ids == ["s3", "s4"]
    states = np.concatenate([d.states for d in decoded])
    np.testing.assert_array_equal(states, model.predict(X, lengths))
    posterior = np.concatenate([d.posterior for d in decoded])
    np.testing.assert_allclose(posterior, model.predict_proba(X, lengths), rtol=1e-12, atol=1e-15)
    log_lik = np.concatenate([d.log_likelihood for d in decoded])
    np.testing.assert_allclose(log_lik, model.score_per_sequence(X, lengths), rtol=1e-12)
    scores = pirho_dask.score_files(model, paths, client=cluster, sequence_column="seq")
    per_file = np.add.reduceat(model.score_per_sequence(X, lengths), [0, 1, 3, 5])
    np.testing.assert_allclose(scores, per_file, rtol=1e-12)


def test_filter_posteriors_by_scheduler_address(cluster, files):
    paths, X, lengths = files
    model = gaussian_model()
    address = cluster.scheduler.address
    decoded = pirho_dask.decode_files(
        model, paths[:2], client=address, posteriors=True, lag=0, algorithm="map"
    )
    causal = model.predict_proba(X[:250], lengths[:3], lag=0)
    np.testing.assert_allclose(np.concatenate([d.posterior for d in decoded]), causal, rtol=1e-12)


def test_fit_distributed_equals_fit_on_the_concatenation(cluster, files):
    paths, X, lengths = files
    together = gaussian_model(n_iter=5, tol=-1).fit(X, lengths)
    spread = pirho_dask.fit_distributed(
        gaussian_model(n_iter=5, tol=-1), paths, client=cluster, sequence_column="seq"
    )
    np.testing.assert_allclose(
        np.array(spread.monitor_.history), np.array(together.monitor_.history), rtol=1e-12
    )
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_allclose(
            getattr(spread, name), getattr(together, name), rtol=1e-10, atol=1e-13
        )


def test_empty_paths_and_bad_chunk_rows():
    with pytest.raises(ValueError, match="at least one"):
        pirho_dask.decode_files(gaussian_model(), [])
    with pytest.raises(ValueError, match="chunk_rows must be >= 1"):
        pirho_dask.score_files(gaussian_model(), ["x.npy"], chunk_rows=0)


def test_cli_decode_on_the_cluster_writes_what_the_local_run_writes(cluster, files, tmp_path):
    import json

    from pirho.cli import main

    paths, _, _ = files
    model_path = tmp_path / "m.json"
    model_path.write_text(json.dumps(gaussian_model().to_dict()))
    common = ["hmm", "decode", "--model", str(model_path), "--lag", "1", str(paths[1])]
    address = cluster.scheduler.address
    assert main([*common, "--dask", address, "-o", str(tmp_path / "dask.csv")]) == 0
    assert main([*common, "-o", str(tmp_path / "local.csv")]) == 0
    remote, local = (tmp_path / "dask.csv").read_text(), (tmp_path / "local.csv").read_text()
    assert remote == local and len(remote.splitlines()) == 1 + 170


def test_initialisation_reads_only_the_rows_it_needs(files, monkeypatch):
    paths, X, _ = files
    opened = []
    real_chunks = pirho_dask._chunks

    def counting_chunks(path, read, chunk_rows):
        opened.append(str(path))
        yield from real_chunks(path, read, chunk_rows)

    monkeypatch.setattr(pirho_dask, "_chunks", counting_chunks)
    read = {"sequence_column": "seq", "columns": None}
    head = pirho_dask._head(paths, read, chunk_rows=10, n_rows=15)
    assert head.shape[0] == 15
    assert opened == [str(paths[0])]  # not the first chunk of every file
    np.testing.assert_array_equal(head, X[:15])
