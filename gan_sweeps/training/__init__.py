"""What the models' update steps use: adversarial losses (``losses``, ``losses_ssl``), regularisers (``regularizers``)
and optimisers (``optim``), each with its ``*_config`` module."""
