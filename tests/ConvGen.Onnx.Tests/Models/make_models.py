#!/usr/bin/python3
"""Makes the small PyTorch models that tests/ConvGen.Onnx.Tests imports with [OnnxModel], and their expected outputs.

Run with Debian's python3-torch and python3-onnx (CI needs neither: the outputs are committed):
    /usr/bin/python3 tests/ConvGen.Onnx.Tests/Models/make_models.py
For each model NAME it writes NAME.onnx, NAME.input.bin and NAME.output.bin (raw little-endian float32, NCHW as PyTorch
computes them) and NAME.json (the shapes). Seeded: the same torch version writes the same files.
"""
import json
import os

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


class Residual(nn.Module):
    """Conv + BN + ReLU, a depthwise stride-2 conv with PyTorch's symmetric padding (ZeroPadding2D in ConvGen), ReLU6,
    a grouped conv with BN added back (residual), BN, a max pool, Flatten and Linear. (The export folds a BN that follows a
    convolution into it; the one after the Add stays a BatchNormalization node.)"""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=2), nn.BatchNorm2d(8))
        self.norm = nn.BatchNorm2d(8)  # after the Add, so the export cannot fold it into a convolution
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = self.down(self.stem(x))
        x = torch.relu(self.norm(x + self.block(x)))
        return self.head(torch.flatten(self.pool(x), 1))


class Pooled(nn.Module):
    """A 5x5 'same' conv, an average pool (exported with a Pad of zeros before it), BN, a depthwise conv with a
    multiplier of 2, LeakyReLU(0.1), global average pooling, Linear and Softmax."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2), nn.BatchNorm2d(4),
            nn.Conv2d(4, 8, 3, groups=4), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
            nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        return torch.softmax(self.head(torch.flatten(self.features(x), 1)), dim=1)


def randomize_batch_norm(model, generator):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.2)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def make(name, model, shape, opset):
    generator = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    model = model()
    randomize_batch_norm(model, generator)
    model.eval()
    x = torch.randn(shape, generator=generator)
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(HERE, name + ".onnx"), opset_version=opset,
                      input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    x.numpy().astype("<f4").tofile(os.path.join(HERE, name + ".input.bin"))
    y.numpy().astype("<f4").tofile(os.path.join(HERE, name + ".output.bin"))
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"input": list(x.shape), "output": list(y.shape), "opset": opset, "torch": torch.__version__}, f)
        f.write("\n")


if __name__ == "__main__":
    make("residual13", Residual, (2, 3, 16, 16), 13)
    make("residual17", Residual, (2, 3, 16, 16), 17)
    make("pooled17", Pooled, (3, 1, 12, 12), 17)
