//! Reading and writing attributes in the forms h5py uses (variable-length
//! UTF-8 strings, numpy bools as enums, 64-bit numbers), and reading them
//! back whatever string or number type another writer chose.

use std::path::Path;

use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::Location;

use crate::error::{Context, DataError};

fn invalid(file: &Path, item: &str, expected: &str, found: String) -> DataError {
    DataError::Invalid {
        file: file.to_path_buf(),
        item: item.to_string(),
        expected: expected.to_string(),
        found,
    }
}

fn attribute(
    loc: &Location,
    file: &Path,
    item: &str,
    name: &str,
) -> Result<hdf5::Attribute, DataError> {
    if !loc
        .attr_names()
        .ctx(file, || format!("listing attributes of {item}"))?
        .iter()
        .any(|n| n == name)
    {
        return Err(DataError::Missing {
            file: file.to_path_buf(),
            item: format!("{item} attribute \"{name}\""),
        });
    }
    loc.attr(name)
        .ctx(file, || format!("opening {item} attribute \"{name}\""))
}

fn descriptor(
    attr: &hdf5::Attribute,
    file: &Path,
    item: &str,
) -> Result<TypeDescriptor, DataError> {
    attr.dtype()
        .and_then(|t| t.to_descriptor())
        .ctx(file, || format!("reading the type of {item}"))
}

/// A string attribute (any HDF5 string type).
pub fn read_string(
    loc: &Location,
    file: &Path,
    item: &str,
    name: &str,
) -> Result<String, DataError> {
    let attr = attribute(loc, file, item, name)?;
    let what = format!("{item} attribute \"{name}\"");
    let value = match descriptor(&attr, file, &what)? {
        TypeDescriptor::VarLenUnicode => attr
            .read_scalar::<VarLenUnicode>()
            .map(|s| s.as_str().to_string()),
        TypeDescriptor::VarLenAscii => attr
            .read_scalar::<VarLenAscii>()
            .map(|s| s.as_str().to_string()),
        // Fixed-length strings convert to a longer fixed length.
        TypeDescriptor::FixedAscii(_) => attr
            .read_scalar::<FixedAscii<1024>>()
            .map(|s| s.as_str().trim_end_matches('\0').to_string()),
        TypeDescriptor::FixedUnicode(_) => attr
            .read_scalar::<FixedUnicode<1024>>()
            .map(|s| s.as_str().trim_end_matches('\0').to_string()),
        other => return Err(invalid(file, &what, "a string", other.to_string())),
    };
    value.ctx(file, || format!("reading {what}"))
}

/// A numeric attribute as f64 (any integer or float type).
pub fn read_number(loc: &Location, file: &Path, item: &str, name: &str) -> Result<f64, DataError> {
    let attr = attribute(loc, file, item, name)?;
    let what = format!("{item} attribute \"{name}\"");
    let value = match descriptor(&attr, file, &what)? {
        TypeDescriptor::Float(_) => attr.read_scalar::<f64>(),
        TypeDescriptor::Integer(_) => attr.read_scalar::<i64>().map(|v| v as f64),
        TypeDescriptor::Unsigned(_) => attr.read_scalar::<u64>().map(|v| v as f64),
        other => return Err(invalid(file, &what, "a number", other.to_string())),
    };
    value.ctx(file, || format!("reading {what}"))
}

/// A boolean attribute (numpy bool enum, or an integer 0/1).
pub fn read_bool(loc: &Location, file: &Path, item: &str, name: &str) -> Result<bool, DataError> {
    let attr = attribute(loc, file, item, name)?;
    let what = format!("{item} attribute \"{name}\"");
    let value = match descriptor(&attr, file, &what)? {
        TypeDescriptor::Boolean => attr.read_scalar::<bool>(),
        TypeDescriptor::Integer(_) | TypeDescriptor::Enum(_) => {
            attr.read_scalar::<i64>().map(|v| v != 0)
        }
        TypeDescriptor::Unsigned(_) => attr.read_scalar::<u64>().map(|v| v != 0),
        other => return Err(invalid(file, &what, "a boolean", other.to_string())),
    };
    value.ctx(file, || format!("reading {what}"))
}

/// True when `loc` has attribute `name`.
pub fn has(loc: &Location, name: &str) -> bool {
    loc.attr_names()
        .is_ok_and(|names| names.iter().any(|n| n == name))
}

/// Writes (or replaces) a variable-length UTF-8 string attribute.
pub fn write_string(loc: &Location, file: &Path, name: &str, value: &str) -> Result<(), DataError> {
    let v: VarLenUnicode = value.parse().map_err(|e| DataError::Request {
        file: file.to_path_buf(),
        message: format!("attribute \"{name}\" value {value:?}: {e}"),
    })?;
    remove(loc, name);
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .ctx(file, || format!("writing attribute \"{name}\""))
}

/// Writes (or replaces) a float64 attribute.
pub fn write_f64(loc: &Location, file: &Path, name: &str, value: f64) -> Result<(), DataError> {
    remove(loc, name);
    loc.new_attr::<f64>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .ctx(file, || format!("writing attribute \"{name}\""))
}

/// Writes (or replaces) an int64 attribute.
pub fn write_i64(loc: &Location, file: &Path, name: &str, value: i64) -> Result<(), DataError> {
    remove(loc, name);
    loc.new_attr::<i64>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .ctx(file, || format!("writing attribute \"{name}\""))
}

/// Writes (or replaces) a boolean attribute (numpy's enum layout).
pub fn write_bool(loc: &Location, file: &Path, name: &str, value: bool) -> Result<(), DataError> {
    remove(loc, name);
    loc.new_attr::<bool>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .ctx(file, || format!("writing attribute \"{name}\""))
}

fn remove(loc: &Location, name: &str) {
    if has(loc, name) {
        let _ = loc.delete_attr(name);
    }
}
