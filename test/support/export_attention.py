# Small residual networks whose blocks already hold attention, in the forms timm writes it and torch.onnx
# exports it: SE (1×1 convs, or nn.Linear on the pooled vector), eSE, ECA (a gate expanded to the map), CBAM (mean and amax through one MLP, conv + BN
# spatial half), CBAM's spatial half alone; attention of other forms, after their authors' code: Coordinate
# Attention (pools along H and W, one gate each; its adaptive pools, or means), GCNet's global context
# block (softmax attention pooling, its term added or its gate multiplied), SimAM (parameter-free), SRM
# (style pooling), triplet attention, BAM (channel and spatial terms added before one sigmoid); and one
# plain block. Usage: OUT.onnx KINDS OPSET static|dyn [residual|inverted [SIZE]] (SIZE: the input's H = W,
# 16 unless given; 1 makes every map 1×1, as the last stage of a network fed a 32×32 image); inverted: MobileNetV2 blocks
# without a residual sum (widths 16, 24 in turn), the attention after the depthwise conv's activation, and a 1×1 head.
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
class CoordAtt(nn.Module):  # Hou et al. 2021, CoordAttention's code (h_swish)
    def __init__(s, c, pool=True):
        # torch.onnx cannot export AdaptiveAvgPool2d((None, 1)) with dynamic axes: means there.
        super().__init__(); m = max(8, c // 32); s.pool = pool and sys.argv[4] != 'dyn'
        s.conv1 = nn.Conv2d(c, m, 1); s.bn1 = nn.BatchNorm2d(m); s.conv_h = nn.Conv2d(m, c, 1); s.conv_w = nn.Conv2d(m, c, 1)
        s.pool_h = nn.AdaptiveAvgPool2d((None, 1)); s.pool_w = nn.AdaptiveAvgPool2d((1, None))
    def forward(s, x):
        n, c, h, w = x.size()
        x_h = s.pool_h(x) if s.pool else x.mean(3, keepdim=True)
        x_w = (s.pool_w(x) if s.pool else x.mean(2, keepdim=True)).permute(0, 1, 3, 2)
        y = F.hardswish(s.bn1(s.conv1(torch.cat([x_h, x_w], dim=2))))
        x_h, x_w = torch.split(y, [h, w], dim=2)
        return x * s.conv_w(x_w.permute(0, 1, 3, 2)).sigmoid() * s.conv_h(x_h).sigmoid()
class GlobalContext(nn.Module):  # Cao et al. 2019, mmcv ContextBlock (pooling 'att')
    def __init__(s, c, add=True):
        super().__init__(); s.add = add; s.mask = nn.Conv2d(c, 1, 1)
        s.t = nn.Sequential(nn.Conv2d(c, c // 4, 1), nn.LayerNorm([c // 4, 1, 1]), nn.ReLU(), nn.Conv2d(c // 4, c, 1))
    def forward(s, x):
        n, c, h, w = x.size()
        m = F.softmax(s.mask(x).view(n, 1, h * w), dim=2).unsqueeze(-1)
        context = torch.matmul(x.view(n, 1, c, h * w), m).view(n, c, 1, 1)
        return x + s.t(context) if s.add else x * torch.sigmoid(s.t(context))
class SimAM(nn.Module):  # Yang et al. 2021
    def __init__(s, c):
        super().__init__()
    def forward(s, x):
        n = x.shape[2] * x.shape[3] - 1
        d = (x - x.mean(dim=[2, 3], keepdim=True)).pow(2)
        return x * torch.sigmoid(d / (4 * (d.sum(dim=[2, 3], keepdim=True) / n + 1e-4)) + 0.5)
class SRM(nn.Module):  # Lee et al. 2019: style pooling (mean, std), channel-wise fully connected
    def __init__(s, c):
        super().__init__(); s.cfc = nn.Conv1d(c, c, 2, groups=c, bias=False); s.bn = nn.BatchNorm1d(c)
    def forward(s, x):
        b, c, _, _ = x.size()
        u = torch.cat((x.view(b, c, -1).mean(-1, keepdim=True), x.view(b, c, -1).std(-1, keepdim=True)), -1)
        return x * torch.sigmoid(s.bn(s.cfc(u))).view(b, c, 1, 1)
class ZGate(nn.Module):  # triplet attention's gate: Z-pool (max; mean) across axis 1, 7×7 conv
    def __init__(s):
        super().__init__(); s.conv = nn.Conv2d(2, 1, 7, padding=3)
    def forward(s, x):
        return x * torch.sigmoid(s.conv(torch.cat((x.amax(1, keepdim=True), x.mean(1, keepdim=True)), dim=1)))
class Triplet(nn.Module):  # Misra et al. 2021
    def __init__(s, c):
        super().__init__(); s.cw = ZGate(); s.hc = ZGate(); s.hw = ZGate()
    def forward(s, x):
        o1 = s.cw(x.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
        o2 = s.hc(x.permute(0, 3, 2, 1)).permute(0, 3, 2, 1)
        return (o1 + o2 + s.hw(x)) / 3
class BAM(nn.Module):  # Park et al. 2018: x · (1 + σ(channel + spatial))
    def __init__(s, c):
        super().__init__(); r = c // 4
        s.ch = nn.Sequential(nn.Linear(c, r), nn.BatchNorm1d(r), nn.ReLU(), nn.Linear(r, c))
        s.sp = nn.Sequential(nn.Conv2d(c, r, 1), nn.BatchNorm2d(r), nn.ReLU(), nn.Conv2d(r, r, 3, padding=4, dilation=4), nn.BatchNorm2d(r), nn.ReLU(), nn.Conv2d(r, 1, 1))
    def forward(s, x):
        ca = s.ch(F.adaptive_avg_pool2d(x, 1).flatten(1)).unsqueeze(-1).unsqueeze(-1).expand_as(x)
        return x * (1 + torch.sigmoid(ca + s.sp(x).expand_as(x)))
class Inverted(nn.Module):  # MobileNetV2's inverted residual block at a change of width: no sum
    def __init__(s, cin, c, attn):
        super().__init__(); h = cin * 2
        s.conv = nn.Sequential(nn.Conv2d(cin, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6(), nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False),
                               nn.BatchNorm2d(h), nn.ReLU6(), attn(h) if attn else nn.Identity(), nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))
    def forward(s, x): return s.conv(x)
class Block(nn.Module):
    def __init__(s, c, attn):
        super().__init__(); s.c1 = nn.Conv2d(c, c, 3, padding=1); s.c2 = nn.Conv2d(c, c, 3, padding=1); s.attn = attn(c) if attn else nn.Identity()
    def forward(s, x): return F.relu(x + s.attn(s.c2(F.relu(s.c1(x)))))
kinds = {'se': SE, 'se-linear': SELinear, 'ese': ESE, 'eca': ECA, 'cbam': CBAM, 'spatial': Spatial,
         'coord': CoordAtt, 'coord-mean': lambda c: CoordAtt(c, pool=False), 'gc': GlobalContext,
         'gc-mul': lambda c: GlobalContext(c, add=False), 'simam': SimAM, 'srm': SRM, 'triplet': Triplet, 'bam': BAM,
         'none': None}
order = sys.argv[2].split(',')
if (sys.argv[5] if len(sys.argv) > 5 else 'residual') == 'inverted':
    blocks = [Inverted((16, 24)[i % 2], (24, 16)[i % 2], kinds[k]) for i, k in enumerate(order)]
    blocks.append(nn.Conv2d((24, 16)[(len(order) - 1) % 2], 16, 1))  # a head: the last block's output is no graph output
else:
    blocks = [Block(16, kinds[k]) for k in order]
net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), *blocks).eval()
dyn = {'x': {0: 'batch'}} if sys.argv[4] == 'dyn' else None
size = int(sys.argv[6]) if len(sys.argv) > 6 else 16
torch.onnx.export(net, torch.randn(1, 3, size, size), sys.argv[1], opset_version=int(sys.argv[3]), input_names=['x'], output_names=['y'], dynamic_axes=dyn)
