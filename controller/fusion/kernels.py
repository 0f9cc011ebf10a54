"""Gaussian kernels on a grid and linear (non-circular) convolution by FFT.

Shared by :mod:`.gas_map` and :mod:`.dose_map`.  A kernel is a 2-D normal density
``N(d; 0, Σ)`` (1/m²) evaluated at the cell-centre offsets ``d`` of the grid, over every
offset a convolution on the grid can need (|dx| < nx, |dy| < ny), so nothing is truncated.
The FFT is zero-padded to at least ``(2·ny − 1, 2·nx − 1)``, which makes the circular
convolution equal to the linear one.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from controller.fusion.grid import FloatArray, GridSpec

ComplexArray = npt.NDArray[np.complex128]


def wind_stretched_axes(sigma_m: float, gamma: float, speed_m_s: float) -> tuple[float, float]:
    """Kernel DM+V/W semi-axes (hazards.md §3.3): ``a = σ + γ|v|`` along the wind and
    ``b = σ / (1 + γ|v|/σ)`` across it, in m."""
    a = sigma_m + gamma * speed_m_s
    b = sigma_m / (1.0 + gamma * speed_m_s / sigma_m)
    return a, b


def _fast_len(n: int) -> int:
    """Smallest 2^i·3^j·5^k ≥ n (sizes numpy's pocketfft handles quickly)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


class Convolver:
    """Linear convolution of ``(ny, nx)`` fields with cached Gaussian kernels."""

    def __init__(self, grid: GridSpec) -> None:
        self.grid = grid
        self.pad = (_fast_len(2 * grid.ny - 1), _fast_len(2 * grid.nx - 1))
        self._kernels: dict[tuple[float, float, float], ComplexArray] = {}

    def kernel_values(self, a_m: float, b_m: float, theta_rad: float) -> FloatArray:
        """``N(d; 0, R(θ) diag(a², b²) R(θ)ᵀ)`` (1/m²) at every offset, laid out with
        wrap-around indexing on the padded grid (offset (dy, dx) at ``[dy mod Py, dx mod Px]``)."""
        py, px = self.pad
        c = self.grid.cell_m
        dy = np.fft.fftfreq(py, d=1.0 / py) * c  # 0, 1, …, −1 cells, in m
        dx = np.fft.fftfreq(px, d=1.0 / px) * c
        gx, gy = np.meshgrid(dx, dy)
        cos, sin = math.cos(theta_rad), math.sin(theta_rad)
        along = gx * cos + gy * sin
        across = -gx * sin + gy * cos
        q = (along / a_m) ** 2 + (across / b_m) ** 2
        out: FloatArray = np.exp(-0.5 * q) / (2.0 * math.pi * a_m * b_m)
        return out

    def kernel_fft(self, a_m: float, b_m: float, theta_rad: float) -> ComplexArray:
        """The (cached) real FFT of :meth:`kernel_values`."""
        key = (round(a_m, 9), round(b_m, 9), round(theta_rad, 9))
        k = self._kernels.get(key)
        if k is None:
            k = np.fft.rfft2(self.kernel_values(a_m, b_m, theta_rad))
            self._kernels[key] = k
        return k

    def forward(self, field: FloatArray) -> ComplexArray:
        """Real FFT of a ``(ny, nx)`` field, zero-padded."""
        out: ComplexArray = np.fft.rfft2(field.reshape(self.grid.shape), s=self.pad)
        return out

    def inverse(self, spectrum: ComplexArray) -> FloatArray:
        """Back to a ``(ny, nx)`` field (the linear-convolution part of the padded result)."""
        full = np.fft.irfft2(spectrum, s=self.pad)
        out: FloatArray = np.ascontiguousarray(full[: self.grid.ny, : self.grid.nx])
        return out
