"""``scipy.integrate.odeint``: gradients through an ODE solve (the adjoint method)."""
