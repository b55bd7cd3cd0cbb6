# Small residual networks whose blocks already hold attention, in the forms timm writes it and torch.onnx
# exports it: SE (1×1 convs, or nn.Linear on the pooled vector), eSE, ECA (a gate expanded to the map), CBAM (mean and amax through one MLP, conv + BN
# spatial half), CBAM's spatial half alone, and one plain block. Usage: OUT.onnx KINDS OPSET static|dyn
import math, sys, torch, torch.nn as nn, torch.nn.functional as F
class SE(nn.Module):  # timm SEModule
    def __init__(s, c):
        super().__init__(); s.fc1 = nn.Conv2d(c, c // 4, 1); s.fc2 = nn.Conv2d(c // 4, c, 1)
    def forward(s, x): return x * torch.sigmoid(s.fc2(F.relu(s.fc1(x.mean((2, 3), keepdim=True)))))
class SELinear(nn.Module):  # SE as often hand-written: pooled vector through nn.Linear, gate viewed back as N×C×1×1
    def __init__(s, c):
        super().__init__(); s.fc1 = nn.Linear(c, c // 4); s.fc2 = nn.Linear(c // 4, c)
    def forward(s, x):
        return x * torch.sigmoid(s.fc2(F.relu(s.fc1(x.mean((2, 3)))))).view(x.shape[0], -1, 1, 1)
class ESE(nn.Module):  # timm EffectiveSEModule
    def __init__(s, c):
        super().__init__(); s.fc = nn.Conv2d(c, c, 1)
    def forward(s, x): return x * F.hardsigmoid(s.fc(x.mean((2, 3), keepdim=True)))
class ECA(nn.Module):  # timm EcaModule
    def __init__(s, c):
        super().__init__(); s.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)
    def forward(s, x):
        y = s.conv(x.mean((2, 3)).view(x.shape[0], 1, -1)).view(x.shape[0], -1, 1, 1)
        return x * torch.sigmoid(y).expand_as(x)
class CBAM(nn.Module):  # timm CbamModule: ChannelAttn then SpatialAttn (conv + BN)
    def __init__(s, c):
        super().__init__(); s.fc1 = nn.Conv2d(c, c // 4, 1, bias=False); s.fc2 = nn.Conv2d(c // 4, c, 1, bias=False)
        s.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False); s.bn = nn.BatchNorm2d(1)
    def forward(s, x):
        mlp = lambda z: s.fc2(F.relu(s.fc1(z)))
        x = x * torch.sigmoid(mlp(x.mean((2, 3), keepdim=True)) + mlp(x.amax((2, 3), keepdim=True)))
        a = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(s.bn(s.conv(a)))
class Spatial(nn.Module):  # CBAM's spatial half alone (timm SpatialAttn)
    def __init__(s, c):
        super().__init__(); s.conv = nn.Conv2d(2, 1, 7, padding=3)
    def forward(s, x):
        return x * torch.sigmoid(s.conv(torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)))
class Block(nn.Module):
    def __init__(s, c, attn):
        super().__init__(); s.c1 = nn.Conv2d(c, c, 3, padding=1); s.c2 = nn.Conv2d(c, c, 3, padding=1); s.attn = attn(c) if attn else nn.Identity()
    def forward(s, x): return F.relu(x + s.attn(s.c2(F.relu(s.c1(x)))))
kinds = {'se': SE, 'se-linear': SELinear, 'ese': ESE, 'eca': ECA, 'cbam': CBAM, 'spatial': Spatial, 'none': None}
order = sys.argv[2].split(',')
net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), *[Block(16, kinds[k]) for k in order]).eval()
dyn = {'x': {0: 'batch'}} if sys.argv[4] == 'dyn' else None
torch.onnx.export(net, torch.randn(1, 3, 16, 16), sys.argv[1], opset_version=int(sys.argv[3]), input_names=['x'], output_names=['y'], dynamic_axes=dyn)
