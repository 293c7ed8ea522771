"""The kernel: the compiled time loop (``loop``, numba) and the integer codes it is told (``codes``, plain Python).

Importing this package imports no numba; ``kernel.loop`` does. The kernel knows arrays and scalars, never a
config: ``simulation`` builds its arrays from one.
"""
