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


# ------------------------------------------------------------------------------ capped: a job within its byte budget


def _limits():
    from mockserver.state import jobs

    return jobs.MAX_JOB_TEXT, jobs._MAX_REFERENCE


def test_a_long_prompt_in_meta_is_cut_to_its_head_and_marked_and_the_original_job_is_untouched():
    max_text, _ = _limits()
    prompt = "p" * (max_text + 5)
    original = job(meta={"prompt": prompt, "W": 512}, samples=3, seed=99, webhook="http://h/x", track_id="t")
    cut = original.capped()
    assert cut is not original and original.meta["prompt"] == prompt
    assert cut.meta["prompt"] == "p" * max_text + "...(+5 chars)" and cut.meta["W"] == 512
    # everything else is carried over as it was
    assert (cut.id, cut.samples, cut.seed, cut.webhook, cut.track_id, cut.owner) == (
        original.id, 3, 99, "http://h/x", "t", original.owner)


def test_the_render_prompt_is_painted_from_the_cut_prompt_fetch_shows():
    max_text, _ = _limits()
    prompt = "q" * (max_text + 1)
    cut = job(meta={"prompt": prompt}, render={"prompt": prompt}).capped()
    assert cut.render["prompt"] == cut.meta["prompt"] == "q" * max_text + "...(+1 chars)"


def test_a_render_prompt_different_from_meta_is_cut_on_its_own_limit():
    max_text, _ = _limits()
    cut = job(meta={"prompt": "short"}, render={"prompt": "r" * (max_text + 2), "strength": 0.5}).capped()
    assert cut.render == {"prompt": "r" * max_text + "...(+2 chars)", "strength": 0.5}
    assert cut.meta == {"prompt": "short"}
    exact = job(render={"prompt": "r" * max_text, "steps": 31})
    assert exact.capped() is exact, "a text of exactly the limit is whole"


def test_init_and_mask_images_given_as_data_are_kept_whole_however_long():
    max_text, _ = _limits()
    data_uri = "data:image/png;base64," + "A" * (max_text * 2)
    raw_base64 = "iVBORw0KGgo" + "B" * (max_text * 2)
    kept = job(render={"init_image": data_uri, "mask_image": raw_base64})
    assert kept.capped() is kept
    upper = job(render={"init_image": "DATA:image/png;base64," + "A" * (max_text * 2)})
    assert upper.capped() is upper, "the data: scheme is matched without regard to case"


def test_an_image_reference_that_is_not_data_is_cut_at_8_kib():
    _, reference = _limits()
    url = "https://example.com/" + "u" * reference
    cut = job(render={"init_image": url, "mask_image": url}).capped()
    expected = url[:reference] + f"...(+{len(url) - reference} chars)"
    assert cut.render == {"init_image": expected, "mask_image": expected}
    exact = job(render={"init_image": "h" * reference})
    assert exact.capped() is exact, "a reference of exactly 8 KiB is whole"
    short_base64 = "A" * 63 + "!" + "x" * reference  # not image data: the first 64 characters decide
    assert job(render={"mask_image": short_base64}).capped().render["mask_image"].endswith(
        f"...(+{len(short_base64) - reference} chars)")


def test_other_render_fields_keep_the_text_limit_not_the_reference_limit():
    max_text, reference = _limits()
    long_name = "n" * (reference + 1)  # over 8 KiB but under the text limit: kept
    same = job(render={"lora_model": long_name, "seed": 3})
    assert same.capped() is same
    over = job(render={"lora_model": "n" * (max_text + 3)}).capped()
    assert over.render["lora_model"] == "n" * max_text + "...(+3 chars)"


def test_webhook_and_track_id_past_the_text_limit_are_cut_and_marked():
    max_text, _ = _limits()
    hook = "http://h/" + "w" * max_text
    cut = job(webhook=hook, track_id="t" * (max_text + 4)).capped()
    assert cut.webhook == hook[:max_text] + f"...(+{len(hook) - max_text} chars)"
    assert cut.track_id == "t" * max_text + "...(+4 chars)"
    exact = job(webhook="w" * max_text, track_id="t" * max_text)
    assert exact.capped() is exact
    only_track = job(webhook=None, track_id="t" * (max_text + 1)).capped()
    assert only_track.webhook is None and only_track.track_id.endswith("...(+1 chars)")


def _meta_over_the_byte_budget(prompt: str) -> dict:
    """Texts each under the text limit that together pass half of MAX_JOB_BYTES: the last ones are cut."""
    fields = {f"field_{i}": "m" * 60_000 for i in range(8)}
    fields["prompt"] = prompt
    return fields


def test_a_prompt_cut_for_the_byte_budget_is_the_prompt_the_image_is_painted_from():
    prompt = "a cat on a bench " * 3500  # 59,500 characters: under the text limit, so render alone keeps it
    original = job(meta=_meta_over_the_byte_budget(prompt), render={"prompt": prompt, "init_image": "https://x/i.png"})
    cut = original.capped()
    assert len(cut.meta["prompt"]) < len(prompt) and cut.meta["prompt"].startswith("a cat")
    assert cut.render == {"prompt": cut.meta["prompt"], "init_image": "https://x/i.png"}


def test_a_render_prompt_of_its_own_is_kept_when_only_meta_is_cut():
    prompt = "a cat on a bench " * 3500
    own = job(meta=_meta_over_the_byte_budget(prompt), render={"prompt": "painted from this", "steps": 20}).capped()
    assert len(own.meta["prompt"]) < len(prompt) and own.render == {"prompt": "painted from this", "steps": 20}
    none = job(meta=_meta_over_the_byte_budget(prompt), render={"steps": 20}).capped()
    assert none.render == {"steps": 20}, "no prompt is added to what is painted"


def test_meta_under_half_a_mebibyte_is_kept_whole():
    meta = {f"field_{i}": "m" * 60_000 for i in range(7)}  # about 420 KB
    assert job(meta=meta).capped().meta == meta


def test_fields_after_a_number_in_render_are_still_cut():
    max_text, _ = _limits()
    cut = job(render={"strength": 0.5, "seed": 7, "prompt": "r" * (max_text + 2)}).capped()
    assert cut.render == {"strength": 0.5, "seed": 7, "prompt": "r" * max_text + "...(+2 chars)"}
