from perflab.units import fmt


def test_seconds_scale_to_readable_units():
    assert fmt(0.0986, "s") == "98.6 ms"
    assert fmt(1.5e-5, "s") == "15.0 µs"
    assert fmt(2.0, "s") == "2.00 s"


def test_interval_bounds_share_the_median_scale():
    assert fmt(1.2, "s", like=0.5) == "1,200 ms"


def test_ratios_and_bytes():
    assert fmt(1.97, "×") == "1.97×"
    assert fmt(3 * 2**20, "B") == "3.00 MiB"
