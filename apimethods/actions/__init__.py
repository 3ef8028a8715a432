"""Drag-and-drop API methods: the action tree (`model`), its compiler to parameterised SQL
(`compiler`, pure), running a compiled method in one transaction (`execute`), and the
console's writes, views and app-format section for them."""
