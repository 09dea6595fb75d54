"""The key-value cache lens: which prompt tokens a generating language model keeps under each eviction press.

    from pruning_core.generation import build_press, generate, load_language_model
    lm = load_language_model()          # the packaged SmolLM2-135M-Instruct
    trace = generate(lm, lm.prompt(review, "Is this review positive or negative?"), build_press("snapkv"), 0.25)
"""
from .cache import answer, answer_logits, generate, prefill, press_cache
from .model import PACKAGED, LanguageModel, Prompt, load_language_model
from .presses import PRESSES, Press, build_press, press_from_label, tokens_kept
from .trace import GenerationTrace

__all__ = ["PACKAGED", "PRESSES", "GenerationTrace", "LanguageModel", "Press", "Prompt", "answer", "answer_logits",
           "build_press", "generate", "load_language_model", "prefill", "press_cache", "press_from_label",
           "tokens_kept"]
