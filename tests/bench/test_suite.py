"""Suite loading and validation: bad suites are rejected before anything runs."""

from __future__ import annotations

import pytest

from ssl4rec.bench.runner import run_suite
from ssl4rec.bench.suite import list_suites, load_suite
from ssl4rec.errors import ConfigError


def test_ready_suites_parse():
    names = list_suites()
    assert {
        "ml100k-topn",
        "ml100k-seq",
        "ml100k-cold",
        "amazon-scientific-seq",
        "ml100k-seq-earlystop",
        "ciao-speed",
    } <= set(names)
    for name in names:
        suite = load_suite(name)
        assert suite.models and suite.seeds
        assert suite.primary in suite.metric_names()


def test_topn_suite_has_the_issue_models():
    labels = [e.label for e in load_suite("ml100k-topn").models]
    assert labels == [
        "pop",
        "itemknn",
        "ease",
        "bpr",
        "multdae",
        "multvae",
        "cdae",
        "recvae",
        "cfgan",
        "lightgcn",
        "sgl",
        "simgcl",
        "xsimgcl",
    ]


def test_unknown_model_is_rejected_naming_the_entry(make_suite, tmp_path):
    path = make_suite([{"model": {"name": "pop"}}, {"model": {"name": "easee"}}])
    suite = load_suite(path)
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"models\[1\] \(easee\).*did you mean 'ease'"):
        run_suite(suite, out)
    assert not out.exists()  # nothing ran, nothing was written


def test_bad_model_config_is_rejected_naming_the_entry(make_suite):
    path = make_suite([{"label": "strong", "model": {"name": "ease", "l2_reg": 1.0, "lr": 2}}])
    with pytest.raises(ConfigError, match=r"models\[0\] \(strong\).*lr"):
        load_suite(path).validate()


def test_unknown_metric_is_rejected(make_suite):
    path = make_suite(eval={"metrics": ["ndcg@5", "ndgc@5"]})
    with pytest.raises(ConfigError, match="ndgc"):
        load_suite(path).validate()


def test_report_metric_must_be_evaluated(make_suite):
    path = make_suite(report={"primary": "mrr@5"})
    with pytest.raises(ConfigError, match="report: metric 'mrr@5'"):
        load_suite(path).validate()


def test_registered_but_missing_model_is_named(make_suite, monkeypatch):
    from ssl4rec.models import registry

    monkeypatch.setitem(
        registry.MODELS,
        "ghost",
        registry.RegistryEntry(
            model="ssl4rec.models.ghost_model:Ghost",
            config="ssl4rec.models.configs.ghost_model:GhostConfig",
        ),
    )
    path = make_suite([{"model": {"name": "pop"}}, {"label": "g", "model": {"name": "ghost"}}])
    with pytest.raises(ConfigError, match=r"models\[1\] \(g\): model 'ghost' is registered but"):
        load_suite(path).validate()


def test_unknown_suite_keys_are_listed_at_once(make_suite):
    path = make_suite(seedz=[0], modles=[])
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert len(info.value.problems) >= 2


def test_select_unknown_label(make_suite):
    suite = load_suite(make_suite())
    assert [e.label for e in suite.select(["ease"]).models] == ["ease"]
    with pytest.raises(ConfigError, match="matches no model"):
        suite.select(["bert"])


def test_select_prefers_an_exact_label_over_a_model_name(make_suite):
    path = make_suite(
        [
            {"label": "ease", "model": {"name": "ease"}},
            {"label": "ease-strong", "model": {"name": "ease", "l2_reg": 900.0}},
            {"label": "pop", "model": {"name": "pop"}},
        ]
    )
    suite = load_suite(path)
    assert [e.label for e in suite.select(["ease"]).models] == ["ease"]
    assert [e.label for e in suite.select(["ease-strong", "pop"]).models] == ["ease-strong", "pop"]
    # a model name that is no label still selects every entry of that model
    by_model = load_suite(
        make_suite(
            [{"label": "a", "model": {"name": "ease"}}, {"label": "b", "model": {"name": "ease"}}]
        )
    )
    assert [e.label for e in by_model.select(["ease"]).models] == ["a", "b"]


def test_privacy_suites_run_every_cell_with_its_privacy_section():
    for name in ("privacy", "privacy-ml100k"):
        suite = load_suite(name)
        cells = suite.validate()
        assert all(config.privacy is not None for _, _, config in cells)
        budgets = {entry.label: config.privacy.target_epsilon for entry, _, config in cells}
        assert budgets["multvae-nodp"] is None and budgets["multvae-eps8"] == 8
        assert budgets["dp-pop-eps8"] == 8


def test_a_peer_only_row_has_no_cell_of_ours_and_needs_a_peer(make_suite):
    peer = {"recbole": {"model": "NCL"}}
    models = [
        {"model": {"name": "pop"}},
        {"label": "ncl", "ours": False, "model": {"name": "lightgcn"}, "peers": peer},
    ]
    suite = load_suite(make_suite(models))
    assert [entry.label for entry, _, _ in suite.validate()] == ["pop"]
    assert not suite.models[1].ours and suite.models[1].peers == peer
    with pytest.raises(ConfigError, match=r"\(ncl\): ours: false needs a peers section"):
        load_suite(make_suite([{"label": "ncl", "ours": False, "model": {"name": "pop"}}]))
    with pytest.raises(ConfigError, match=r"\(pop\): ours must be true or false; got 'no'"):
        load_suite(make_suite([{"ours": "no", "model": {"name": "pop"}}]))
