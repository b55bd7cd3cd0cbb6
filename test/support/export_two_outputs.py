# A backbone whose feature map is a graph output and is also read by a classifier head (as detection
# backbones export features beside logits). Usage: OUT.onnx
import sys, torch, torch.nn as nn
class Net(nn.Module):
    def __init__(s):
        super().__init__(); s.body = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU()); s.head = nn.Linear(32, 10)
    def forward(s, x):
        f = s.body(x)
        return f, s.head(f.mean((2, 3)))
torch.onnx.export(Net().eval(), torch.randn(1, 3, 16, 16), sys.argv[1], opset_version=13, input_names=['x'], output_names=['features', 'logits'])
