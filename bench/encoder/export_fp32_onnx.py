"""Exports the fetched all-MiniLM-L6-v2 (safetensors) to an fp32 ONNX graph with PyTorch.

    python export_fp32_onnx.py MODEL_DIR OUT.onnx

Runs in the benchmark's throwaway venv (torch, transformers, onnx, onnxscript); the graph takes
input_ids, attention_mask and token_type_ids ([batch, sequence], int64) and returns
last_hidden_state, which assay's ONNX Runtime encoder mean-pools and normalises.
"""
import sys

import torch
from transformers import AutoModel

model_dir, out = sys.argv[1], sys.argv[2]
bert = AutoModel.from_pretrained(model_dir).eval()


class Hidden(torch.nn.Module):
    """Keyword arguments only: the positional order of BertModel.forward changes between
    transformers releases."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state


model = Hidden(bert).eval()
ids = torch.ones((2, 8), dtype=torch.int64)
mask = torch.ones((2, 8), dtype=torch.int64)
types = torch.zeros((2, 8), dtype=torch.int64)
batch, seq = "batch", "sequence"
with torch.no_grad():
    torch.onnx.export(
        model,
        (ids, mask, types),
        out,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            "input_ids": {0: batch, 1: seq},
            "attention_mask": {0: batch, 1: seq},
            "token_type_ids": {0: batch, 1: seq},
            "last_hidden_state": {0: batch, 1: seq},
        },
        opset_version=17,
        dynamo=False,
    )
print(f"wrote {out}")
