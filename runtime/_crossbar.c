/* CPython glue of the crossbar kernel: argument parsing, buffers, errors, the GIL.
 *
 * Buffers come through the buffer protocol (no numpy headers at build time); the Python
 * loader (runtime/kernel.py) checks shapes and dtypes and allocates the output. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

#include "crossbar.h"


static const crossbar_isa *active_isa;

static PyObject *py_isa(PyObject *self, PyObject *args)
{
    return PyUnicode_FromString(active_isa->name);
}

static PyObject *py_select_isa(PyObject *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    const crossbar_isa *isa = crossbar_select_isa(name);
    if (isa == NULL) {
        PyErr_Format(PyExc_ValueError, "instruction set %s is unknown or not supported by this CPU", name);
        return NULL;
    }
    active_isa = isa;
    return PyUnicode_FromString(isa->name);
}

static PyObject *py_supported_isas(PyObject *self, PyObject *args)
{
    PyObject *names = PyList_New(0);
    const crossbar_isa *all[] = {crossbar_isa_avx512(), crossbar_isa_avx2(), crossbar_isa_portable()};
    for (size_t i = 0; names && i < sizeof all / sizeof all[0]; i++) {
        if (all[i] == NULL)
            continue;
        PyObject *name = PyUnicode_FromString(all[i]->name);
        if (name == NULL || PyList_Append(names, name) < 0) {
            Py_XDECREF(name);
            Py_CLEAR(names);
            break;
        }
        Py_DECREF(name);
    }
    return names;
}

static PyObject *py_has_threads(PyObject *self, PyObject *args)
{
    return PyBool_FromLong(crossbar_has_threads());
}

static int check_size(const Py_buffer *buffer, Py_ssize_t expected, const char *what)
{
    if (buffer->len != expected) {
        PyErr_Format(PyExc_ValueError, "%s has %zd bytes, expected %zd", what, buffer->len, expected);
        return -1;
    }
    return 0;
}

static void level_error(ptrdiff_t bad, int rows, int cols, int cell_bits)
{
    PyErr_Format(PyExc_ValueError,
                 "level at slice %zd, row %zd, column %zd is above 2**cell_bits - 1 = %d",
                 bad / ((Py_ssize_t)rows * cols), bad / cols % rows, bad % cols,
                 (1 << cell_bits) - 1);
}

static void x_error(ptrdiff_t bad, int rows, int input_bits)
{
    PyErr_Format(PyExc_ValueError, "x[%zd, %zd] is outside [0, 2**input_bits) = [0, %lld)",
                 bad / rows, bad % rows, 1LL << input_bits);
}

/* pack(levels_pos, levels_neg, slices, rows, cols, cell_bits) -> bytes (active ISA layout) */
static PyObject *py_pack(PyObject *self, PyObject *args)
{
    Py_buffer pos, neg;
    int slices, rows, cols, cell_bits;
    if (!PyArg_ParseTuple(args, "y*y*iiii", &pos, &neg, &slices, &rows, &cols, &cell_bits))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t levels = (Py_ssize_t)slices * rows * cols;
    if (check_size(&pos, levels, "levels_pos") < 0 || check_size(&neg, levels, "levels_neg") < 0)
        goto done;
    crossbar_weights w = {slices, rows, cols, cell_bits,
                          (rows + active_isa->kg - 1) / active_isa->kg,
                          (cols + active_isa->nw - 1) / active_isa->nw, active_isa, NULL};
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)crossbar_weights_bytes(active_isa, slices, rows, cols));
    if (result == NULL)
        goto done;
    w.data = (int8_t *)PyBytes_AS_STRING(result);
    ptrdiff_t bad;
    Py_BEGIN_ALLOW_THREADS
    bad = crossbar_pack_weights(&w, pos.buf, neg.buf);
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        Py_CLEAR(result);
        level_error(bad, rows, cols, cell_bits);
    }
done:
    PyBuffer_Release(&pos);
    PyBuffer_Release(&neg);
    return result;
}

/* matvec(x, itemsize, is_signed, batch, packed, isa, slices, rows, cols, cell_bits,
 *        input_bits, adc_bits, adc_shift, out, threads); adc_bits 0 = ideal ADC */
static PyObject *py_matvec(PyObject *self, PyObject *args)
{
    Py_buffer x, packed, out;
    int itemsize, is_signed, batch, slices, rows, cols, cell_bits, threads;
    const char *isa_name;
    crossbar_adc adc;
    if (!PyArg_ParseTuple(args, "y*iiiy*siiiiiiiw*i", &x, &itemsize, &is_signed, &batch, &packed,
                          &isa_name, &slices, &rows, &cols, &cell_bits, &adc.input_bits,
                          &adc.adc_bits, &adc.adc_shift, &out, &threads))
        return NULL;
    PyObject *result = NULL;
    const crossbar_isa *isa = crossbar_select_isa(isa_name);
    if (isa == NULL || isa != active_isa) {
        PyErr_Format(PyExc_ValueError, "weights packed for %s, kernel runs %s", isa_name, active_isa->name);
        goto done;
    }
    if (check_size(&x, (Py_ssize_t)batch * rows * itemsize, "x") < 0 ||
        check_size(&packed, (Py_ssize_t)crossbar_weights_bytes(isa, slices, rows, cols), "packed weights") < 0 ||
        check_size(&out, (Py_ssize_t)batch * cols * 8, "out") < 0)
        goto done;
    crossbar_weights w = {slices, rows, cols, cell_bits, (rows + isa->kg - 1) / isa->kg,
                          (cols + isa->nw - 1) / isa->nw, isa, (int8_t *)packed.buf};
    crossbar_input input = {x.buf, itemsize, is_signed, batch, rows, adc.input_bits};
    ptrdiff_t bad;
    int status = 0;
    Py_BEGIN_ALLOW_THREADS
    bad = crossbar_check_input(&input);
    if (bad < 0)
        status = crossbar_matvec(&w, &input, &adc, out.buf, threads);
    Py_END_ALLOW_THREADS
    if (bad >= 0)
        x_error(bad, rows, adc.input_bits);
    else if (status < 0)
        PyErr_NoMemory();
    else
        result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&x);
    PyBuffer_Release(&packed);
    PyBuffer_Release(&out);
    return result;
}

/* matvec_wide(x, itemsize, is_signed, batch, levels_pos, levels_neg, slices, rows, cols,
 *             cell_bits, input_bits, adc_bits, adc_shift,
 *             (enabled, seed, tile_id, sample_offset, variation_q16, read_q16, stuck_zero,
 *              stuck_one), out, threads): the int64 path (noise, cells wider than 4 bits) */
static PyObject *py_matvec_wide(PyObject *self, PyObject *args)
{
    Py_buffer x, pos, neg, out;
    int itemsize, is_signed, batch, slices, rows, cols, cell_bits, threads;
    crossbar_adc adc;
    crossbar_noise noise;
    unsigned long long seed, tile_id, sample_offset, stuck_zero, stuck_one;
    long long variation_q16, read_q16;
    if (!PyArg_ParseTuple(args, "y*iiiy*y*iiiiiii(iKKKLLKK)w*i", &x, &itemsize, &is_signed,
                          &batch, &pos, &neg, &slices, &rows, &cols, &cell_bits,
                          &adc.input_bits, &adc.adc_bits, &adc.adc_shift, &noise.enabled, &seed,
                          &tile_id, &sample_offset, &variation_q16, &read_q16, &stuck_zero,
                          &stuck_one, &out, &threads))
        return NULL;
    noise.seed = seed;
    noise.tile_id = tile_id;
    noise.sample_offset = sample_offset;
    noise.variation_q16 = variation_q16;
    noise.read_q16 = read_q16;
    noise.stuck_zero = stuck_zero;
    noise.stuck_one = stuck_one;
    PyObject *result = NULL;
    int64_t *cells = NULL;
    Py_ssize_t levels = (Py_ssize_t)slices * rows * cols;
    if (check_size(&x, (Py_ssize_t)batch * rows * itemsize, "x") < 0 ||
        check_size(&pos, levels, "levels_pos") < 0 || check_size(&neg, levels, "levels_neg") < 0 ||
        check_size(&out, (Py_ssize_t)batch * cols * 8, "out") < 0)
        goto done;
    cells = malloc(levels ? (size_t)levels * sizeof(int64_t) : 1);
    if (cells == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    crossbar_input input = {x.buf, itemsize, is_signed, batch, rows, adc.input_bits};
    ptrdiff_t bad_level, bad_x = -1;
    int status = 0;
    Py_BEGIN_ALLOW_THREADS
    bad_level = crossbar_wide_cells(slices, rows, cols, cell_bits, pos.buf, neg.buf, &noise, cells,
                                    threads);
    if (bad_level < 0)
        bad_x = crossbar_check_input(&input);
    if (bad_level < 0 && bad_x < 0)
        status = crossbar_matvec_wide(slices, cols, cell_bits, cells, &input, &adc, &noise,
                                      out.buf, threads);
    Py_END_ALLOW_THREADS
    if (bad_level >= 0)
        level_error(bad_level, rows, cols, cell_bits);
    else if (bad_x >= 0)
        x_error(bad_x, rows, adc.input_bits);
    else if (status < 0)
        PyErr_NoMemory();
    else
        result = Py_NewRef(Py_None);
done:
    free(cells);
    PyBuffer_Release(&x);
    PyBuffer_Release(&pos);
    PyBuffer_Release(&neg);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"isa", py_isa, METH_NOARGS, "name of the active instruction set"},
    {"select_isa", py_select_isa, METH_VARARGS, "select_isa(name|'auto') -> name"},
    {"supported_isas", py_supported_isas, METH_NOARGS, "instruction sets this CPU runs, best first"},
    {"has_threads", py_has_threads, METH_NOARGS, "True if calls can use worker threads"},
    {"pack", py_pack, METH_VARARGS, "pack differential levels for the active instruction set"},
    {"matvec", py_matvec, METH_VARARGS, "batched tile matrix-vector product (see kernel.py)"},
    {"matvec_wide", py_matvec_wide, METH_VARARGS, "the int64 path: noise, cells wider than 4 bits"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_crossbar", "C crossbar kernel of spintron_nn", -1, methods,
};

PyMODINIT_FUNC PyInit__crossbar(void)
{
    active_isa = crossbar_select_isa("auto");
    return PyModule_Create(&module);
}
