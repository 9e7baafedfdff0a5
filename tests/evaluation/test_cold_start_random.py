"""Cold-start items on a random (unordered) split, as the lastfm-music-cold suite uses."""

from __future__ import annotations

import numpy as np

from ssl4rec.runner.experiment import SplitConfig
from ssl4rec.runner.run import make_experiment_split
from ssl4rec.testing.synthetic import block_interactions


def test_random_protocol_holds_items_out_of_train_and_valid():
    data = block_interactions(num_users=120, num_items=60, seed=1)
    config = SplitConfig(protocol="random", seed=0, cold_item_fraction=0.1, cold_item_seed=0)
    split = make_experiment_split(data, config)
    assert split.protocol == "random+cold"
    cold = split.cold_items
    assert cold is not None and len(cold) == 6
    assert not np.isin(split.train.items, cold).any()
    assert not np.isin(split.valid.items, cold).any()
    assert np.isin(split.test.items, cold).any()  # cold targets exist in test
    plain = make_experiment_split(data, SplitConfig(protocol="random", seed=0))
    # the test part is the random split's test part, unchanged
    assert len(split.test) == len(plain.test)
    assert np.array_equal(split.test.items, plain.test.items)
    again = make_experiment_split(data, config)
    assert np.array_equal(again.cold_items, cold)
