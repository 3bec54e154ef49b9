from embedtune.training.state import TrainState


def test_the_time_limit_stops_before_a_step_that_would_pass_it():
    # 10 steps of 25 s: 250 s spent, a mean step of 25 s
    st = TrainState(step=10, train_seconds=250.0)
    assert not st.next_step_passes(None)
    assert not st.next_step_passes(275 / 60)  # the next step ends exactly at the limit
    assert st.next_step_passes(270 / 60)  # it would end 5 s past it, though 20 s are left
    assert st.next_step_passes(250 / 60)


def test_the_first_step_always_runs():
    assert not TrainState().next_step_passes(1e-9)
