"""The engine chosen per CPU kind: reduced precision only where the CPU runs it natively and its guard passed."""

from ml.inference.engines.choice import CpuInfo, candidates, choose_engine, cpu_info, runs_natively

AVX2_ONLY = CpuInfo("AMD EPYC", ("avx2",), ("FP32", "INT8", "BIN", "EXPORT_IMPORT"))
AMX = CpuInfo("Intel(R) Xeon(R) Processor", ("avx2", "avx512f", "amx_bf16", "amx_int8"), ("FP32", "INT8", "BF16"))
ALL = ["openvino-int8", "openvino-bf16", "openvino", "torch-fused", "torch"]


def test_bf16_is_a_candidate_only_where_the_cpu_has_it_natively() -> None:
    assert candidates(AVX2_ONLY) == ["openvino-int8", "openvino", "torch-fused", "torch"]
    assert candidates(AMX) == ALL
    assert not runs_natively("openvino-bf16", AVX2_ONLY) and runs_natively("openvino-int8", AVX2_ONLY)


def test_without_a_passed_guard_the_full_precision_engine_is_chosen() -> None:
    assert choose_engine("no-such-model", ALL, AMX) == "openvino"
    assert choose_engine("no-such-model", ["torch-fused", "torch"], AVX2_ONLY) == "torch-fused"
    assert choose_engine("no-such-model", [], AVX2_ONLY) == "torch"


def test_this_machine_is_described() -> None:
    here = cpu_info()
    assert here.model and "FP32" in here.capabilities
    assert set(here.flags) <= {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8"}
