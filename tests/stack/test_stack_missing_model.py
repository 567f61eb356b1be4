"""An inference worker started without the model's weights (an empty var dir): it says so clearly in its log and
takes no clicks, so the other workers keep serving every click; saves are unaffected."""

from tests.stack.stack_clients import Annotator, check_saved_exactly_once


def test_a_worker_without_weights_reports_it_and_the_others_serve_every_click(stack, demo, tmp_path) -> None:
    empty_var = tmp_path / "var-without-models"
    empty_var.mkdir()
    broken = stack.add_inference_worker("inference-noweights", env={"EDGEFLOW_VAR_DIR": str(empty_var)})
    log = broken.output()
    assert "cannot serve clicks" in log and "hrnet18-ocr64-cocolvis" in log, broken.tail()
    healthy = {u.pid for n, u in stack.units.items() if n.startswith("inference") and u is not broken}

    annotator = Annotator(stack, demo.token, demo.images[0], demo.label, name="noweights")
    annotator.open()
    for index in range(8):  # several objects, so that every worker consuming the queue would get some
        mask = annotator.click(annotator.point(0.45 + 0.01 * index, 0.5), timeout=30)
        annotator.finish(mask)
    annotator.flush(timeout=30)
    assert not annotator.errors, annotator.errors  # no click was answered "model unavailable"
    assert {int(m["worker"].rsplit(":", 1)[1]) for m in annotator.masks} <= healthy
    assert broken.running and "run_click_job" not in broken.output().split(" ready.", 1)[-1]
    assert check_saved_exactly_once(stack, [annotator]) == 8
    annotator.close()
    stack.stop("inference-noweights")
