/* Many 4-byte needles found in one pass: benches.analysis.detection._needles.
 *
 * The detector's sieve finds a binary number's literals (an IMEI as a varint,
 * an int64) by 4-byte windows of them, twenty or so for a rack. bytes.find
 * would pass over the data once per needle; this passes once for all, and looks
 * only at every fourth offset (0 mod 4): there the 4 bytes are hashed into a
 * 65,536-bit filter, and only where the filter says so is the sorted needle
 * table searched. The caller registers four consecutive windows of each
 * literal, so wherever a literal starts one of them lies at an offset 0 mod 4.
 * needles.py holds the pure-Python reference (one bytes.find per needle);
 * tests compare the two.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define FILTER_BYTES 8192 /* 65,536 bits */

static inline uint32_t hash16(uint32_t word) { return (word * 2654435761u) >> 16; }

static int contains(const uint32_t *table, Py_ssize_t count, uint32_t word) {
    Py_ssize_t low = 0, high = count;
    while (low < high) {
        Py_ssize_t middle = low + (high - low) / 2;
        if (table[middle] < word)
            low = middle + 1;
        else
            high = middle;
    }
    return low < count && table[low] == word;
}

PyDoc_STRVAR(find_doc,
"find(data, filter, table, stride) -> list of offsets\n\n"
"Offsets 0 mod 4 where data holds one of the 4-byte needles: table is their\n"
"words (native order, sorted), filter the 8,192-byte filter of their hashes.\n"
"After an offset, the next stride - 1 offsets are not reported (the caller\n"
"searches around each one anyway).");

static PyObject *find(PyObject *self, PyObject *args) {
    Py_buffer data, filter, table;
    Py_ssize_t stride;
    if (!PyArg_ParseTuple(args, "y*y*y*n", &data, &filter, &table, &stride))
        return NULL;
    PyObject *found = NULL;
    if (filter.len != FILTER_BYTES || table.len % 4 || stride < 1) {
        PyErr_SetString(PyExc_ValueError, "filter must be 8192 bytes, table whole words");
        goto done;
    }
    found = PyList_New(0);
    if (found == NULL)
        goto done;
    const unsigned char *bytes = (const unsigned char *)data.buf;
    const unsigned char *bits = (const unsigned char *)filter.buf;
    const uint32_t *words = (const uint32_t *)table.buf;
    Py_ssize_t count = table.len / 4;
    for (Py_ssize_t at = 0; at + 4 <= data.len; at += 4) {
        uint32_t word;
        memcpy(&word, bytes + at, 4);
        uint32_t h = hash16(word);
        if (!(bits[h >> 3] & (1u << (h & 7))) || !contains(words, count, word))
            continue;
        PyObject *offset = PyLong_FromSsize_t(at);
        if (offset == NULL || PyList_Append(found, offset) < 0) {
            Py_XDECREF(offset);
            Py_CLEAR(found);
            goto done;
        }
        Py_DECREF(offset);
        if (stride > data.len - at)
            break;
        /* on to the first offset 0 mod 4 at or after at + stride (the loop adds 4) */
        at = ((at + stride + 3) & ~(Py_ssize_t)3) - 4;
    }
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&filter);
    PyBuffer_Release(&table);
    return found;
}

static PyMethodDef methods[] = {
    {"find", find, METH_VARARGS, find_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "benches.analysis.detection._needles",
    "Many 4-byte needles in one pass; detection/needles.py holds the pure-Python reference.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__needles(void) { return PyModule_Create(&module); }
