"""The seeds' first example: y_hat = w * x, loss = (y_hat - y)^2 at x=1, y=2, w=1.

Backprop gives dloss/dw = -2; so does nudging w by 0.0001 and watching the loss.
"""
import chainrule

x, y = chainrule.tensor(1.0), chainrule.tensor(2.0)
w = chainrule.tensor(1.0, requires_grad=True, name="w")
loss = (w * x - y) ** 2
loss.backward()
print("backprop  dloss/dw =", w.grad.item())

nudged = chainrule.autograd.numerical_grad(lambda w: (w * x - y) ** 2, w.detach(), eps=1e-4)
print("nudge     dloss/dw =", round(float(nudged), 3))
