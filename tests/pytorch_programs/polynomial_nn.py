"""pytorch/tutorials beginner_source/examples_nn/polynomial_nn.py, written for the xpnn
integration tests.

Fits y = sin(x) on [-pi, pi] with a third-order polynomial: a Linear(3, 1) layer over the
features (x, x^2, x^3), a Flatten(0, 1), a summed squared error, and gradient descent written
out by hand under no_grad. No data is downloaded.

    python tests/pytorch_programs/polynomial_nn.py
"""
import torch
import math


# inputs and targets
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# The target is a linear function of (x, x^2, x^3): the features come from broadcasting
# x of shape (2000, 1) against the powers p of shape (3,), giving (2000, 3).
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

# The model is a sequence of modules: the Linear layer holds the weight and bias, and the
# Flatten turns its (2000, 1) output into the (2000,) shape of y.
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)

# mean squared error, summed over the samples
loss_fn = torch.nn.MSELoss(reduction='sum')

learning_rate = 1e-6
for t in range(2000):

    # forward: the module is called like a function
    y_pred = model(xx)

    # the loss, printed every 100 steps
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    # the gradients accumulate, so clear them first
    model.zero_grad()

    # backward: the gradient of the loss with respect to every parameter that requires it
    loss.backward()

    # one step of gradient descent on each parameter, outside the graph
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

# the first layer of the Sequential, as from a list
linear_layer = model[0]

# its parameters are weight and bias
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
