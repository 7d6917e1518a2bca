"""A job's state comes from the clock: processing until ready_at, then its outcome."""

from __future__ import annotations

from mockserver.state.jobs import Job


def job(**changes) -> Job:
    fields = dict(id=130000001, owner="k", created_at=100.0, ready_at=110.0, outcome="success",
                  file_prefix="abc", samples=2, width=512, height=768, seed=7, generation_time=1.5,
                  meta={"W": 512})
    fields.update(changes)
    return Job(**fields)


def test_a_job_is_processing_until_ready_at_then_its_outcome():
    assert job().status(109.999) == "processing"
    assert job().status(110.0) == "success", "ready exactly at ready_at"
    assert job(outcome="failed").status(200.0) == "failed"


def test_remaining_counts_down_to_zero_and_stays_there():
    assert job().remaining(104.0) == 6.0
    assert job().remaining(110.0) == 0.0
    assert job().remaining(500.0) == 0.0


def test_one_output_name_per_sample_with_the_job_extension():
    assert job().output_names() == ["abc-0.png", "abc-1.png"]
    assert job(samples=1, ext="base64").output_names() == ["abc-0.base64"]


def test_a_job_survives_a_round_trip_through_plain_data():
    original = job(webhook="http://127.0.0.1:9/hook", track_id="t1", nsfw=True, render={"kind": "inpaint"})
    data = original.to_dict()
    assert data["id"] == 130000001 and data["render"] == {"kind": "inpaint"} and data["ext"] == "png"
    assert Job.from_dict(data) == original


def test_defaults_of_a_new_job():
    fresh = job()
    assert (fresh.ext, fresh.nsfw, fresh.webhook, fresh.track_id, fresh.webhook_status, fresh.render) == (
        "png", False, None, None, "", {})


def test_a_job_within_its_budget_is_kept_as_it_is_without_a_copy():
    """The hot path: an ordinary job is not walked, copied or replaced by ``capped``."""
    from mockserver.state.budget import fit
    from mockserver.state.jobs import MAX_JOB_TEXT

    meta = {"prompt": "a cat" * 100, "W": 512, "seed": 2**40, "nested": {"list": [1, "two", None, 3.5]}}
    assert fit(meta, 1 << 20, MAX_JOB_TEXT) is meta
    ordinary = job(meta=meta, render={"prompt": meta["prompt"], "init_image": "https://example.com/i.png"})
    assert ordinary.capped() is ordinary
    long_text = {"prompt": "x" * (MAX_JOB_TEXT + 10)}  # over max_text though within the byte budget
    cut = fit(long_text, 1 << 20, MAX_JOB_TEXT)
    assert cut is not long_text and cut["prompt"].endswith("...(+10 chars)")
    odd = {1: "non-string key", "big": 2**70}  # not plain JSON for orjson: walked as before
    assert fit(odd, 1 << 20, MAX_JOB_TEXT) == {1: "non-string key", "big": 2**70}
