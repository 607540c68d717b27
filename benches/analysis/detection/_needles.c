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

static inline int is_digit(unsigned char byte) { return (unsigned char)(byte - '0') < 10; }

/* The first start of `count` digits in a row, or -1. A window of `count` bytes is
 * checked from its last byte back: a byte that is no digit rules out every window
 * holding it, so most of the data is skipped `count` bytes at a time. */
static Py_ssize_t first_digits(const unsigned char *bytes, Py_ssize_t size, Py_ssize_t count) {
    Py_ssize_t last = count - 1; /* no window of digits ends before `last` */
    while (last < size) {
        Py_ssize_t at = last;
        while (at > last - count && is_digit(bytes[at]))
            at--;
        if (at == last - count)
            return at + 1;
        last = at + count;
    }
    return -1;
}

/* The first start of `digits` digits, a point and two digits, or -1. */
static Py_ssize_t first_decimal(const unsigned char *bytes, Py_ssize_t size, Py_ssize_t digits) {
    Py_ssize_t from = digits;
    while (from + 2 < size) {
        const unsigned char *dot = memchr(bytes + from, '.', size - 2 - from);
        if (dot == NULL)
            return -1;
        Py_ssize_t at = dot - bytes;
        if (is_digit(bytes[at + 1]) && is_digit(bytes[at + 2])) {
            Py_ssize_t before = at - 1;
            while (before >= at - digits && is_digit(bytes[before]))
                before--;
            if (before < at - digits)
                return at - digits;
        }
        from = at + 1;
    }
    return -1;
}

PyDoc_STRVAR(number_places_doc,
"number_places(data, digits, run) -> (decimal, integer)\n\n"
"Where the location finder starts: the first offset of `digits` ASCII digits, a\n"
"point and two digits, and the first offset of `run` digits in a row; -1 for none.\n"
"The same as finding b'0' * digits + b'.00' and b'0' * run in the data's digit\n"
"skeleton (detection/locations.py, the reference), without making the skeleton.");

static PyObject *number_places(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t digits, run;
    if (!PyArg_ParseTuple(args, "y*nn", &data, &digits, &run))
        return NULL;
    PyObject *places = NULL;
    if (digits < 1 || run < 1) {
        PyErr_SetString(PyExc_ValueError, "digits and run must be at least 1");
    } else {
        const unsigned char *bytes = (const unsigned char *)data.buf;
        places = Py_BuildValue("nn", first_decimal(bytes, data.len, digits),
                               first_digits(bytes, data.len, run));
    }
    PyBuffer_Release(&data);
    return places;
}

/* The first offset from `from` on where the bytes' classes spell `needle`, or -1.
 * Boyer-Moore's bad-character rule on the classes: a window is compared from its
 * end, and a mismatch moves it so that the needle's last place of that class (`last`,
 * -1 for none) comes under the mismatched byte, or by one when that place is not to
 * the left. At most `size` times the needle's length, whatever the data. */
static Py_ssize_t class_find(const unsigned char *bytes, Py_ssize_t size,
                             const unsigned char *classes, const unsigned char *needle,
                             Py_ssize_t length, const Py_ssize_t *last, Py_ssize_t from) {
    Py_ssize_t at = from;
    while (at <= size - length) {
        Py_ssize_t j = length - 1;
        unsigned char class;
        while ((class = classes[bytes[at + j]]) == needle[j]) {
            if (j == 0)
                return at;
            j--;
        }
        at += last[class] < j ? j - last[class] : 1;
    }
    return -1;
}

/* The same, for a needle with a class only one byte has (UTF-16 text's NUL): memchr
 * finds that byte, and only the window that puts it at `place` is compared. */
static Py_ssize_t class_find_byte(const unsigned char *bytes, Py_ssize_t size,
                                  const unsigned char *classes, const unsigned char *needle,
                                  Py_ssize_t length, unsigned char only, Py_ssize_t place,
                                  Py_ssize_t from) {
    Py_ssize_t at = from;
    while (at <= size - length) {
        const unsigned char *found = memchr(bytes + at + place, only, size - length + 1 - at);
        if (found == NULL)
            return -1;
        at = found - bytes - place;
        Py_ssize_t j = 0;
        while (j < length && classes[bytes[at + j]] == needle[j])
            j++;
        if (j == length)
            return at;
        at++;
    }
    return -1;
}

PyDoc_STRVAR(class_marks_doc,
"class_marks(data, classes, needle, stride) -> list of offsets\n\n"
"Where data.translate(classes) holds needle, as the sieve finds it there: the first\n"
"place, then the first at least stride further on, and so on. The same as finding\n"
"needle in the translated data (detection/skeletons.py, the reference), without it.");

static PyObject *class_marks(PyObject *self, PyObject *args) {
    Py_buffer data, classes, needle;
    Py_ssize_t stride;
    if (!PyArg_ParseTuple(args, "y*y*y*n", &data, &classes, &needle, &stride))
        return NULL;
    PyObject *found = NULL;
    if (classes.len != 256 || needle.len < 1 || stride < 1) {
        PyErr_SetString(PyExc_ValueError, "classes must be 256 bytes, the needle one or more, "
                                          "the stride at least 1");
        goto done;
    }
    found = PyList_New(0);
    if (found == NULL)
        goto done;
    const unsigned char *bytes = (const unsigned char *)data.buf;
    const unsigned char *spelled = (const unsigned char *)needle.buf;
    Py_ssize_t last[256];
    for (int class = 0; class < 256; class++)
        last[class] = -1;
    for (Py_ssize_t k = 0; k < needle.len; k++)
        last[spelled[k]] = k;
    const unsigned char *table = (const unsigned char *)classes.buf;
    /* A class of the needle that only one byte has: memchr for that byte. */
    int members[256] = {0};           /* bytes of each class */
    unsigned char member[256] = {0};  /* a byte of each class (the only one, for those) */
    for (int byte = 0; byte < 256; byte++) {
        members[table[byte]]++;
        member[table[byte]] = (unsigned char)byte;
    }
    Py_ssize_t place = -1;
    unsigned char only = 0;
    for (Py_ssize_t k = 0; k < needle.len; k++)
        if (members[spelled[k]] == 1) {
            place = k;
            only = member[spelled[k]];
            break;
        }
#define NEXT(from)                                                                       \
    (place >= 0 ? class_find_byte(bytes, data.len, table, spelled, needle.len, only, place, \
                                  (from))                                                \
                : class_find(bytes, data.len, table, spelled, needle.len, last, (from)))
    Py_ssize_t at = NEXT(0);
    while (at >= 0) {
        PyObject *offset = PyLong_FromSsize_t(at);
        if (offset == NULL || PyList_Append(found, offset) < 0) {
            Py_XDECREF(offset);
            Py_CLEAR(found);
            goto done;
        }
        Py_DECREF(offset);
        if (stride > data.len - at)
            break;
        at = NEXT(at + stride);
    }
#undef NEXT
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&classes);
    PyBuffer_Release(&needle);
    return found;
}

static PyMethodDef methods[] = {
    {"class_marks", class_marks, METH_VARARGS, class_marks_doc},
    {"find", find, METH_VARARGS, find_doc},
    {"number_places", number_places, METH_VARARGS, number_places_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "benches.analysis.detection._needles",
    "Many 4-byte needles in one pass; detection/needles.py holds the pure-Python reference.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__needles(void) { return PyModule_Create(&module); }
